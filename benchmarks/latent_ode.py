"""Benchmark of chapter 11: a latent ODE, an ODE-RNN and a GRU given Δt on irregular spirals.

    python benchmarks/latent_ode.py --out benchmarks/results/latent_ode.json
    python benchmarks/latent_ode.py --quick --out /tmp/latent_ode.json   # tiny, for tests

Writes::

    {"union_vs_per_sample_max_diff", "observed_fraction",
     "latent_ode": {"interp_mse", "extrap_mse"}, "ode_rnn": {...}, "gru_dt": {...},
     "by_fraction": {"0.1": {"latent_ode": {...}, ...}, ...}, "extrap_ratio_latent_to_gru",
     "seconds", "settings": {...}, "command", "machine"}

- The data: bidirectional spirals (:mod:`nodelib.irregular_series`), 100 grid times on
  ``[0, 4]``; every model is trained on the first half only (each series observed at 10 %,
  30 % or 50 % of its grid points, fresh random times at every batch) and scored on held-out
  series against the noise-free truth: ``interp_mse`` on the observed half, ``extrap_mse`` on
  the second half, which no model ever saw (:func:`nodelib.irregular_training.evaluate`).
- ``observed_fraction``: the fraction of the headline numbers (the three models' entries);
  ``by_fraction`` has every fraction.
- ``union_vs_per_sample_max_diff``: the trained latent ODE decodes the held-out series' latent
  paths once on the union of their observation times and once per series on its own times
  (float64, dopri5 at rtol 1e-10, atol 1e-12); the largest difference at any observation
  (target: below 1e-6).
- ``extrap_ratio_latent_to_gru``: the latent ODE's extrapolation error over the GRU-Δt's at
  ``observed_fraction`` (the chapter's aim: at most 0.5).
- ``seconds``: wall-clock time of the whole run.
"""

from __future__ import annotations

import copy
import time

import torch

from nodelib import irregular_series as irs
from nodelib import irregular_training as training
from nodelib import reproducibility
from nodelib.seeding import seed_everything

FRACTIONS = (0.1, 0.3, 0.5)
HEADLINE_FRACTION = 0.3


def union_vs_per_sample(model, series: irs.SpiralSeries, mask: torch.Tensor) -> float:
    """Largest difference between decoding on the union and decoding each series alone."""
    exact = copy.deepcopy(model).double()
    exact.solver = {"method": "dopri5", "rtol": 1e-10, "atol": 1e-12}
    batch = irs.batch_from_mask(series, mask)
    batch.values, batch.times = batch.values.double(), batch.times.double()
    with torch.no_grad():
        z0, _ = exact.posterior(batch)
        on_union = exact.decode(z0, batch.times)
        worst = 0.0
        for b in range(len(series)):
            alone = exact.decode(z0[b : b + 1], batch.times[batch.mask[b]])[0]
            worst = max(worst, float((on_union[b][batch.mask[b]] - alone).abs().max()))
    return worst


def run(quick: bool = False, seed: int = 0) -> dict:
    """Train the three models and score them; ``quick`` shrinks every size (for tests)."""
    start = time.perf_counter()
    settings = {
        "n_train": 64 if quick else 512,
        "n_test": 16 if quick else 256,
        "n_times": 40 if quick else 100,
        "t_end": 4.0,
        "noise_std": irs.NOISE_STD,
        "train_fractions": list(FRACTIONS),
        "iterations": 3 if quick else 1500,
        "batch_size": 64,
        "lr": 1e-2,
        "train_solver": "rk4, steps ≤ 0.1 (one per gap of the union grid)",
    }
    seed_everything(seed)
    data_generator = torch.Generator().manual_seed(seed)
    make = {"n_times": settings["n_times"], "t_end": settings["t_end"]}
    train = irs.make_spirals(settings["n_train"], generator=data_generator, **make)
    test = irs.make_spirals(settings["n_test"], generator=data_generator, **make)
    masks = {f: irs.observe(test, f, torch.Generator().manual_seed(seed + 1)) for f in FRACTIONS}
    models, by_fraction = {}, {str(f): {} for f in FRACTIONS}
    for name in training.MODELS:
        models[name] = training.make_model(name, seed)
        training.fit(
            models[name],
            train,
            FRACTIONS,
            iterations=settings["iterations"],
            batch_size=settings["batch_size"],
            lr=settings["lr"],
            seed=seed,
            progress=not quick,
        )
        for f in FRACTIONS:
            by_fraction[str(f)][name] = training.evaluate(models[name], test, masks[f])
    headline = by_fraction[str(HEADLINE_FRACTION)]
    return {
        "union_vs_per_sample_max_diff": union_vs_per_sample(
            models["latent_ode"], test, masks[HEADLINE_FRACTION]
        ),
        "observed_fraction": HEADLINE_FRACTION,
        **{name: headline[name] for name in training.MODELS},
        "by_fraction": by_fraction,
        "extrap_ratio_latent_to_gru": (
            headline["latent_ode"]["extrap_mse"] / headline["gru_dt"]["extrap_mse"]
        ),
        "seconds": time.perf_counter() - start,
        "settings": settings,
    }


def main(argv=None) -> int:
    parser = reproducibility.benchmark_parser(
        __doc__.splitlines()[0], quick_help="tiny sizes, a few iterations (tests)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(quick=args.quick, seed=args.seed)
    return reproducibility.finish_benchmark(results, args.out, __file__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
