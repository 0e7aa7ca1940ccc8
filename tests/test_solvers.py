"""nodelib.odeint is accurate: convergence orders, agreement with SciPy and torchdiffeq, stats."""

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

import nodelib
from nodelib.solvers import SolveStats, integrate_fixed_grid
from nodelib.tableaus import TABLEAUS

F64 = torch.float64
SPIRAL = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]], dtype=F64)


def spiral(t, y):
    """The linear spiral dy/dt = A y for a batch of row vectors y: (batch, 2)."""
    return y @ SPIRAL.T


def spiral_exact(y0, t):
    """(len(t), batch, 2): y(t) = exp(tA) y0, by the matrix exponential."""
    return torch.stack([y0 @ torch.linalg.matrix_exp(SPIRAL * ti).T for ti in t])


def fitted_order(errors, step_counts):
    """Slope of log(error) against log(h) with h ∝ 1/steps, by least squares."""
    slope, _ = np.polyfit(np.log(1.0 / np.array(step_counts)), np.log(errors), 1)
    return slope


def max_error_with_fixed_steps(method, n_steps):
    y0 = torch.tensor([[1.0, 0.5]], dtype=F64)
    t = torch.tensor([0.0, 2.0], dtype=F64)
    tableau = TABLEAUS[method]
    f0 = spiral(t[0], y0)
    # integrate_fixed_grid runs any tableau with fixed steps, dopri5 included.
    solution = integrate_fixed_grid(
        spiral, y0, t.tolist(), tableau, 2.0 / n_steps, 10**6, f0, SolveStats(method)
    )
    return (solution[-1] - spiral_exact(y0, t)[-1]).abs().max().item()


@pytest.mark.parametrize(
    ("method", "expected_order", "step_counts"),
    [
        ("euler", 1, [200, 400, 800, 1600]),
        ("midpoint", 2, [50, 100, 200, 400]),
        ("rk4", 4, [20, 40, 80, 160]),
        ("rk4_38", 4, [20, 40, 80, 160]),
        ("dopri5", 5, [10, 20, 40, 80]),
    ],
)
def test_method_converges_with_its_order(method, expected_order, step_counts):
    errors = [max_error_with_fixed_steps(method, n) for n in step_counts]
    assert fitted_order(errors, step_counts) == pytest.approx(expected_order, abs=0.3)


def test_fixed_step_methods_hit_every_output_time_with_subdivided_steps():
    y0 = torch.tensor([[1.0, 0.0]], dtype=F64)
    t = torch.tensor([0.0, 0.3, 1.0], dtype=F64)
    _, stats = nodelib.odeint(spiral, y0, t, method="euler", step_size=0.1, return_stats=True)
    assert stats.accepted == 3 + 7
    assert stats.ts[3] == pytest.approx(0.3) and stats.ts[-1] == 1.0
    steps = np.diff(stats.ts)
    assert steps.max() <= 0.1 + 1e-12


def test_fixed_step_default_is_one_step_per_interval_of_t():
    y0 = torch.tensor([[1.0, 0.0]], dtype=F64)
    t = torch.linspace(0, 1, 11, dtype=F64)
    _, stats = nodelib.odeint(spiral, y0, t, method="rk4", return_stats=True)
    assert stats.accepted == 10
    assert stats.nfe == 1 + 4 * 10 - 1  # shape check evaluation reused as the first stage


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_fixed_step_methods_integrate_backwards_in_time(method):
    y_end = torch.tensor([[0.3, -1.0]], dtype=F64)
    t = torch.linspace(2.0, 0.0, 5, dtype=F64)
    solution = nodelib.odeint(spiral, y_end, t, method=method, step_size=1e-3)
    exact = spiral_exact(y_end, t - 2.0)  # exp((t - 2) A) y(2)
    assert (solution - exact).abs().max().item() < (1e-2 if method == "euler" else 1e-10)


def test_dopri5_meets_tolerance_on_the_spiral():
    y0 = torch.randn(8, 2, dtype=F64)
    t = torch.linspace(0, 5, 50, dtype=F64)
    solution = nodelib.odeint(spiral, y0, t, rtol=1e-8, atol=1e-10)
    assert (solution - spiral_exact(y0, t)).abs().max().item() < 1e-6


def test_dopri5_fills_output_times_inside_steps_by_accurate_dense_output():
    y0 = torch.tensor([[1.0, 0.0]], dtype=F64)
    t = torch.linspace(0, 3, 601, dtype=F64)
    solution, stats = nodelib.odeint(spiral, y0, t, rtol=1e-9, atol=1e-11, return_stats=True)
    assert stats.accepted < 150  # far fewer steps than output times
    assert (solution - spiral_exact(y0, t)).abs().max().item() < 1e-7


# --------------------------------------------------------------------- against SciPy DOP853


def van_der_pol(t, y):
    mu = 1.0
    x, v = y[..., 0], y[..., 1]
    return torch.stack([v, mu * (1 - x**2) * v - x], dim=-1)


def lotka_volterra(t, y):
    prey, predator = y[..., 0], y[..., 1]
    return torch.stack([1.5 * prey - prey * predator, prey * predator - 3.0 * predator], dim=-1)


def random_tanh_mlp():
    generator = torch.Generator().manual_seed(1)
    w1 = torch.randn(16, 2, generator=generator, dtype=F64)
    w2 = torch.randn(2, 16, generator=generator, dtype=F64) / 4

    def mlp(t, y):
        return torch.tanh(y @ w1.T) @ w2.T

    return mlp


PROBLEMS = {
    "van_der_pol": (van_der_pol, [[2.0, 0.0], [0.5, -1.0]]),
    "lotka_volterra": (lotka_volterra, [[10.0, 5.0], [3.0, 2.0]]),
    "tanh_mlp": (random_tanh_mlp(), [[1.0, -1.0], [0.3, 0.7]]),
}


def scipy_reference(func, y0, t):
    """DOP853 at tight tolerance, each batch row solved separately: (len(t), batch, dim)."""
    rows = []
    for row in y0:

        def rhs(s, y):
            return func(torch.tensor(s), torch.tensor(y)).numpy()

        sol = solve_ivp(
            rhs, (t[0], t[-1]), row.numpy(), method="DOP853", t_eval=t, rtol=1e-12, atol=1e-12
        )
        rows.append(sol.y.T)
    return torch.tensor(np.stack(rows, axis=1))


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("backwards", [False, True], ids=["forwards", "backwards"])
def test_dopri5_agrees_with_scipy_dop853(problem, backwards):
    func, y0_list = PROBLEMS[problem]
    y0 = torch.tensor(y0_list, dtype=F64)
    t = np.linspace(0.0, 3.0, 7)
    if backwards:
        t = -t
    reference = scipy_reference(func, y0, t)
    solution = nodelib.odeint(func, y0, torch.tensor(t), rtol=1e-7, atol=1e-9)
    scale = reference.abs().max().item()
    assert (solution - reference).abs().max().item() < 1e-5 * scale


# --------------------------------------------------------------------- against torchdiffeq


def test_euler_and_midpoint_match_torchdiffeq():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    func = random_tanh_mlp()
    y0 = torch.randn(4, 2, dtype=F64)
    t = torch.linspace(0, 2, 41, dtype=F64)
    for method in ["euler", "midpoint"]:
        ours = nodelib.odeint(func, y0, t, method=method)
        theirs = torchdiffeq.odeint(func, y0, t, method=method)
        assert (ours - theirs).abs().max().item() < 1e-6, method


def test_rk4_38_matches_torchdiffeq_rk4():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    y0 = torch.randn(4, 2, dtype=F64)
    t = torch.linspace(0, 2, 21, dtype=F64)
    ours = nodelib.odeint(van_der_pol, y0, t, method="rk4_38")
    theirs = torchdiffeq.odeint(van_der_pol, y0, t, method="rk4")
    assert (ours - theirs).abs().max().item() < 1e-10


def test_classic_rk4_differs_from_torchdiffeq_rk4_on_a_nonlinear_problem():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.linspace(0, 2, 5, dtype=F64)
    ours = nodelib.odeint(van_der_pol, y0, t, method="rk4")
    theirs = torchdiffeq.odeint(van_der_pol, y0, t, method="rk4")
    assert (ours - theirs).abs().max().item() > 1e-8


@pytest.mark.parametrize("problem", PROBLEMS)
def test_dopri5_matches_torchdiffeq_within_tolerance_and_similar_work(problem):
    torchdiffeq = pytest.importorskip("torchdiffeq")
    func, y0_list = PROBLEMS[problem]
    y0 = torch.tensor(y0_list, dtype=F64)
    t = torch.linspace(0, 3, 4, dtype=F64)
    calls = []

    def counted(s, y):
        calls.append(1)
        return func(s, y)

    ours, stats = nodelib.odeint(func, y0, t, rtol=1e-6, atol=1e-8, return_stats=True)
    theirs = torchdiffeq.odeint(counted, y0, t, rtol=1e-6, atol=1e-8)
    scale = theirs.abs().max().item()
    assert (ours - theirs).abs().max().item() < 1e-4 * scale
    assert abs(stats.nfe - len(calls)) <= 0.2 * len(calls)


def test_torchdiffeq_backend_forwards_the_call():
    torchdiffeq = pytest.importorskip("torchdiffeq")
    y0 = torch.tensor([[1.0, 0.0]], dtype=F64)
    t = torch.linspace(0, 1, 5, dtype=F64)
    ours, stats = nodelib.odeint(spiral, y0, t, backend="torchdiffeq", return_stats=True)
    assert torch.equal(ours, torchdiffeq.odeint(spiral, y0, t, rtol=1e-6, atol=1e-8))
    assert stats.nfe > 0


# --------------------------------------------------------------------- statistics, shapes


def test_stats_count_accepted_and_rejected_steps():
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.tensor([0.0, 10.0], dtype=F64)
    _, stats = nodelib.odeint(van_der_pol, y0, t, return_stats=True)
    assert len(stats.ts) == stats.accepted + 1
    assert len(stats.rejected_ts) == stats.rejected
    assert stats.nfe == 2 + 6 * (stats.accepted + stats.rejected)
    assert stats.backward_nfe is None


def test_rejected_step_sizes_are_recorded_one_per_rejection():
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.tensor([0.0, 10.0], dtype=F64)
    _, stats = nodelib.odeint(van_der_pol, y0, t, return_stats=True)
    assert stats.rejected > 0
    assert len(stats.rejected_step_sizes) == len(stats.rejected_ts) == stats.rejected


def test_a_rejected_step_is_retried_with_a_smaller_step_from_the_same_time():
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.tensor([0.0, 10.0], dtype=F64)
    _, stats = nodelib.odeint(van_der_pol, y0, t, return_stats=True)
    accepted_step_from = dict(zip(stats.ts[:-1], np.diff(stats.ts), strict=True))
    for start, tried in zip(stats.rejected_ts, stats.rejected_step_sizes, strict=True):
        assert start in accepted_step_from  # the retry starts where the rejected attempt did
        assert 0 < accepted_step_from[start] < tried


def test_rejected_step_sizes_are_negative_when_solving_backwards():
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.tensor([10.0, 0.0], dtype=F64)
    _, stats = nodelib.odeint(van_der_pol, y0, t, return_stats=True)
    assert stats.rejected > 0
    assert all(h < 0 for h in stats.rejected_step_sizes)


def test_fixed_step_methods_record_no_rejected_steps():
    y0 = torch.tensor([[2.0, 0.0]], dtype=F64)
    t = torch.tensor([0.0, 1.0], dtype=F64)
    _, stats = nodelib.odeint(van_der_pol, y0, t, method="rk4", step_size=0.1, return_stats=True)
    assert stats.rejected == 0 and stats.rejected_ts == [] and stats.rejected_step_sizes == []


def test_solution_has_shape_time_then_state_shape():
    y0 = torch.zeros(3, 4, 5)
    t = torch.linspace(0, 1, 6)
    for method in TABLEAUS:
        assert nodelib.odeint(lambda s, y: -y + s, y0, t, method=method).shape == (6, 3, 4, 5)


def test_float32_solve_returns_float32():
    y0 = torch.ones(2, 2)
    solution = nodelib.odeint(lambda s, y: -y, y0, torch.tensor([0.0, 1.0]))
    assert solution.dtype == torch.float32
    assert solution[-1] == pytest.approx(torch.full((2, 2), math.exp(-1.0)), rel=1e-5)


def test_time_dependent_dynamics_receive_tensor_time():
    seen = []

    def func(s, y):
        seen.append(isinstance(s, torch.Tensor) and s.dim() == 0)
        return torch.cos(s) * torch.ones_like(y)

    solution = nodelib.odeint(func, torch.zeros(1, dtype=F64), torch.tensor([0.0, 1.0], dtype=F64))
    assert all(seen)
    assert solution[-1].item() == pytest.approx(math.sin(1.0), abs=1e-7)


def test_float32_rk4_over_many_steps_stays_as_close_to_float64_as_euler():
    # Adding each stage's term to y separately rounds at the size of y four times per step;
    # over 1000 steps that drifted ~20x further from float64 than Euler. Summed first, rk4's
    # float32 error is the float32 floor that Euler also shows.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(), torch.nn.Linear(50, 2))
    net64 = torch.nn.Sequential(torch.nn.Linear(2, 50), torch.nn.Tanh(), torch.nn.Linear(50, 2))
    net64.load_state_dict(net.state_dict())
    net64.double()
    y0, t = torch.randn(64, 2), torch.linspace(0.0, 1.0, 1001)
    error = {}
    with torch.no_grad():
        for method in ("euler", "rk4"):
            y32 = nodelib.odeint(lambda t, y: net(y), y0, t, method=method)
            y64 = nodelib.odeint(lambda t, y: net64(y), y0.double(), t.double(), method=method)
            error[method] = (y32.double() - y64).abs().max().item()
    assert error["rk4"] < 2 * error["euler"]
