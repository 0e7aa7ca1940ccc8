"""Bad input gives a clear error naming the problem, never a hang or a silent wrong answer."""

import re
import time

import pytest
import torch

import nodelib
from nodelib.errors import MaxStepsExceededError, NonFiniteError, StepSizeUnderflowError

Y0 = torch.ones(2, 3)
T = torch.tensor([0.0, 0.5, 1.0])


def decay(t, y):
    return -y


@pytest.mark.parametrize("solve", [nodelib.odeint, nodelib.odeint_adjoint])
def test_two_dimensional_t_is_rejected(solve):
    with pytest.raises(ValueError, match=r"t must be 1-D.*\(2, 2\)"):
        solve(decay, Y0, torch.zeros(2, 2))


def test_single_time_point_is_rejected():
    with pytest.raises(ValueError, match="at least 2 times"):
        nodelib.odeint(decay, Y0, torch.tensor([0.0]))


@pytest.mark.parametrize("times", [[0.0, 1.0, 0.5], [0.0, 0.0, 1.0], [1.0, 0.0, 0.5]])
def test_non_monotonic_t_is_rejected(times):
    with pytest.raises(ValueError, match="strictly increasing or strictly decreasing"):
        nodelib.odeint(decay, Y0, torch.tensor(times))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_t_is_rejected(bad):
    with pytest.raises(ValueError, match="t must be finite"):
        nodelib.odeint(decay, Y0, torch.tensor([0.0, bad]))


def test_non_finite_y0_is_rejected():
    y0 = torch.tensor([1.0, float("nan")])
    with pytest.raises(ValueError, match="y0 contains NaN or inf"):
        nodelib.odeint(decay, y0, T)


@pytest.mark.parametrize("solve", [nodelib.odeint, nodelib.odeint_adjoint])
def test_func_returning_the_wrong_shape_is_rejected(solve):
    with pytest.raises(ValueError, match=r"func\(t, y\) must return.*shape of y0 \(2, 3\), got"):
        solve(lambda t, y: y.sum(dim=1), Y0, T)


def test_unknown_method_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"method='rk45' is unknown.*'euler'.*'dopri5'"):
        nodelib.odeint(decay, Y0, T, method="rk45")


@pytest.mark.parametrize("name", ["rtol", "atol", "step_size"])
@pytest.mark.parametrize("value", [0.0, -1e-3])
def test_non_positive_tolerances_and_step_size_are_rejected(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a positive"):
        nodelib.odeint(decay, Y0, T, method="euler", **{name: value})


def test_mismatched_dtypes_are_rejected():
    with pytest.raises(
        ValueError, match="t has dtype torch.float64 but y0 has dtype torch.float32"
    ):
        nodelib.odeint(decay, Y0, T.double())


def test_mismatched_devices_are_rejected():
    meta_t = torch.tensor([0.0, 1.0], device="meta")
    with pytest.raises(ValueError, match="t is on device meta but y0 is on cpu"):
        nodelib.odeint(decay, Y0, meta_t)


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="backend='scipy' is unknown"):
        nodelib.odeint(decay, Y0, T, backend="scipy")


def test_non_positive_max_steps_is_rejected():
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        nodelib.odeint(decay, Y0, T, max_steps=0)


def test_solver_errors_are_runtime_errors():
    assert issubclass(nodelib.SolverError, RuntimeError)
    for error in (MaxStepsExceededError, NonFiniteError, StepSizeUnderflowError):
        assert issubclass(error, nodelib.SolverError)


def nan_after_half(t, y):
    """Dynamics that break down for t > 0.5."""
    return -y if t <= 0.5 else torch.full_like(y, float("nan"))


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_nan_dynamics_report_the_time(method):
    t = torch.linspace(0.0, 1.0, 11, dtype=torch.float64)
    with pytest.raises(NonFiniteError, match="NaN or inf at t=") as error:
        nodelib.odeint(nan_after_half, Y0.double(), t, method=method)
    reported_t = float(re.search(r"at t=([0-9.e+-]+)", str(error.value)).group(1))
    assert 0.5 <= reported_t <= 0.6


def test_nan_dynamics_at_the_start_are_reported():
    with pytest.raises(NonFiniteError, match="at the start, t=0"):
        nodelib.odeint(lambda t, y: y * float("nan"), Y0, T)


def test_stiff_problem_with_small_max_steps_fails_fast():
    def stiff(t, y):  # relaxes to cos(t) at rate 1e6: explicit solvers need steps ~ 1e-6
        return -1e6 * (y - torch.cos(t))

    start = time.perf_counter()
    with pytest.raises(MaxStepsExceededError, match=r"max_steps=200.*stiff.*rtol/atol.*fixed-step"):
        nodelib.odeint(
            stiff,
            torch.zeros(1, dtype=torch.float64),
            torch.tensor([0.0, 100.0], dtype=torch.float64),
            max_steps=200,
        )
    assert time.perf_counter() - start < 2.0


def test_fixed_step_solve_needing_too_many_steps_fails_before_starting():
    calls = []

    def counted(t, y):
        calls.append(1)
        return -y

    with pytest.raises(MaxStepsExceededError, match="would need 1000000 steps"):
        nodelib.odeint(counted, Y0, T, method="euler", step_size=1e-6)
    assert len(calls) <= 1


def test_blow_up_ends_in_a_solver_error_naming_the_time():
    def blow_up(t, y):  # y' = y², y(0) = 1 has y = 1 / (1 - t): infinite at t = 1
        return y * y

    with pytest.raises(nodelib.SolverError, match=r"t=(1\b|0\.99)"):
        nodelib.odeint(
            blow_up,
            torch.ones(1, dtype=torch.float64),
            torch.tensor([0.0, 2.0], dtype=torch.float64),
        )


@pytest.mark.parametrize("solve", [nodelib.odeint, nodelib.odeint_adjoint])
@pytest.mark.parametrize(
    ("returned", "func"),
    [
        ("torch.float64", lambda t, y: (-y).double()),
        ("torch.int64", lambda t, y: torch.ones_like(y, dtype=torch.int64)),
    ],
    ids=["float64", "int64"],
)
def test_func_returning_another_dtype_than_y0_is_rejected(solve, returned, func):
    pattern = rf"func returned dy/dt of dtype {returned} but y0 has dtype torch.float32.*y.dtype"
    with pytest.raises(ValueError, match=pattern):
        solve(func, Y0, T, method="rk4")


@pytest.mark.parametrize("solve", [nodelib.odeint, nodelib.odeint_adjoint])
def test_func_returning_a_non_tensor_is_rejected(solve):
    with pytest.raises(ValueError, match="func must return a torch.Tensor, got float"):
        solve(lambda t, y: 1.0, Y0, T)


def test_adjoint_rejects_a_closed_over_tensor_that_would_get_no_gradient():
    weight = torch.tensor(2.0, requires_grad=True)

    def decay_at_rate(t, y):
        return -weight * y

    with pytest.raises(ValueError, match=r"func uses 1 tensor that requires grad.*adjoint_params"):
        nodelib.odeint_adjoint(decay_at_rate, Y0, T)
    # Named in adjoint_params it gets its gradient; under no_grad nothing needs one.
    nodelib.odeint_adjoint(decay_at_rate, Y0, T, adjoint_params=[weight]).sum().backward()
    assert weight.grad is not None
    with torch.no_grad():
        nodelib.odeint_adjoint(decay_at_rate, Y0, T)


def test_adjoint_rejects_a_module_that_uses_a_tensor_it_does_not_own():
    outside = torch.ones(3, requires_grad=True)

    class Scaled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rate = torch.nn.Parameter(torch.ones(3))

        def forward(self, t, y):
            return -self.rate * outside * y

    with pytest.raises(ValueError, match=r"func uses 1 tensor that requires grad \(shape \(3,\)\)"):
        nodelib.odeint_adjoint(Scaled(), Y0, T)


@pytest.mark.parametrize(
    ("adjoint_params", "message"),
    [
        ([1.0], "adjoint_params must hold tensors, got float at position 0"),
        ((torch.ones(1), "weight"), "adjoint_params must hold tensors, got str at position 1"),
        (3, r"adjoint_params must be a list or tuple of tensors.*got int"),
        (torch.ones(2), r"adjoint_params must be a list or tuple of tensors, got a Tensor.*\[w\]"),
    ],
    ids=["float", "string", "int", "bare_tensor"],
)
def test_adjoint_params_of_the_wrong_type_are_rejected(adjoint_params, message):
    with pytest.raises(TypeError, match=message):
        nodelib.odeint_adjoint(decay, Y0, T, adjoint_params=adjoint_params)


@pytest.mark.parametrize("solve", [nodelib.odeint, nodelib.odeint_adjoint])
def test_output_times_requiring_grad_are_rejected(solve):
    t = T.clone().requires_grad_(True)
    with pytest.raises(ValueError, match=r"t requires grad.*t.detach\(\)"):
        solve(decay, Y0, t)
    with torch.no_grad():  # no gradient wanted: nothing is lost
        solve(decay, Y0, t)
