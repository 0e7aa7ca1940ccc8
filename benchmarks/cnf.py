"""Benchmark of chapter 10: a continuous normalizing flow trained on two moons, checked four ways.

    python benchmarks/cnf.py --out benchmarks/results/cnf.json
    python benchmarks/cnf.py --quick --out /tmp/cnf.json   # a few iterations, for tests

Writes::

    {"density_integral", "hutchinson_bias_z", "test_nll", "gaussian_nll", "seconds",
     "settings": {...}, "command", "machine"}

- ``density_integral``: the learned density (dopri5, rtol = atol = 1e-5) integrated over
  ``[-4, 4]²`` by the midpoint rule on a 100 × 100 grid; a density must give 1 (target: within
  0.02).
- ``hutchinson_bias_z``: ``|mean(Hutchinson) - exact trace| / standard error`` of the mean
  trace of ``∂f/∂z`` over 64 test points at ``t = 0.5``, from 2000 Rademacher draws; an unbiased
  estimator gives about 1 (target: at most 3).
- ``test_nll``: negative log-likelihood of 5000 fresh samples, nats per point;
  ``gaussian_nll``: that of the best single Gaussian (fit to 5000 other samples) on the same
  test samples. The flow must be clearly lower.
- ``seconds``: training time (maximum likelihood, Adam, dopri5 at rtol = atol = 1e-3,
  backprop through the solver).
"""

from __future__ import annotations

import math

import torch

from nodelib import cnf, reproducibility, toy_densities, traces
from nodelib.seeding import seed_everything

DENSITY = "two moons"


def hutchinson_bias_z(model: cnf.CNF, points: torch.Tensor, draws: int, seed: int) -> float:
    """``|mean estimate - exact| / standard error`` of the batch-mean trace at ``t = 0.5``."""
    t = torch.tensor(0.5)

    def velocity(z):
        return model.field(t, z)

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        exact = float(traces.exact_trace(velocity, points)[1].mean())
        estimates = torch.stack(
            [
                traces.hutchinson_trace(
                    velocity, points, traces.draw_noise(points.shape, generator=generator)
                )[1].mean()
                for _ in range(draws)
            ]
        )
    standard_error = float(estimates.std()) / math.sqrt(draws)
    return abs(float(estimates.mean()) - exact) / standard_error


def run(quick: bool = False, seed: int = 0) -> dict:
    """Train the flow and measure it; ``quick`` shrinks every size (for tests)."""
    iterations = 10 if quick else 600
    settings = {
        "density": DENSITY,
        "iterations": iterations,
        "batch_size": 256,
        "lr": 1e-2,
        "hidden": 32,
        "layers": 3,
        "train_solver": "dopri5, rtol = atol = 1e-3",
        "eval_solver": "dopri5, rtol = atol = 1e-5",
        "grid_points": 30 if quick else 100,
        "n_test": 500 if quick else 5000,
        "hutchinson_draws": 200 if quick else 2000,
    }
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    model = cnf.CNF(
        cnf.TimeMLP(hidden=settings["hidden"], layers=settings["layers"]),
        solver=cnf.Solver(rtol=1e-3, atol=1e-3),
    )
    result = cnf.train(
        model,
        lambda n: toy_densities.sample(DENSITY, n, generator),
        iterations=iterations,
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        progress=not quick,
    )
    model.solver = cnf.Solver(rtol=1e-5, atol=1e-5)
    test_generator = torch.Generator().manual_seed(seed + 1)
    test = toy_densities.sample(DENSITY, settings["n_test"], test_generator)
    train = toy_densities.sample(DENSITY, settings["n_test"], test_generator)
    with torch.no_grad():
        test_nll = float(-model.log_prob(test).mean())
    grid = cnf.density_grid(model, extent=4.0, points=settings["grid_points"])
    return {
        "density_integral": grid.integral,
        "hutchinson_bias_z": hutchinson_bias_z(
            model, test[:64], settings["hutchinson_draws"], seed + 2
        ),
        "test_nll": test_nll,
        "gaussian_nll": toy_densities.gaussian_nll(train, test),
        "seconds": result.seconds,
        "settings": settings,
    }


def main(argv=None) -> int:
    parser = reproducibility.benchmark_parser(
        __doc__.splitlines()[0], quick_help="a few iterations only (tests)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(quick=args.quick, seed=args.seed)
    return reproducibility.finish_benchmark(results, args.out, __file__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
