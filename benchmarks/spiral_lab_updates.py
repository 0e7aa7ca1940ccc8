"""Benchmark of the spiral lab's live plots: updates per second against training speed.

    python benchmarks/spiral_lab_updates.py --out benchmarks/results/spiral_lab_updates.json
    python benchmarks/spiral_lab_updates.py --quick --out /tmp/lab.json   # seconds, for tests

The lab trains in a thread and, between iterations, redraws its plots under one
policy: at most ``UPDATES_PER_SECOND`` updates a second, and at most
``DRAWING_SHARE`` of the thread's time spent drawing. This script trains the
lab's default model under that policy for ``--seconds`` with each way of
drawing, and with none (the baseline):

- ``blit_png`` (the lab's choice): four matplotlib panels, fixed parts drawn once,
  moving lines drawn over them, sent as PNG images (``SpiralLab._redraw``);
- ``svg_full``: the lab's first version, the whole 2 x 2 matplotlib figure
  re-rendered as SVG at every update;
- ``plotly_figurewidget``: a plotly ``FigureWidget`` with the same four panels,
  updated in one ``batch_update`` (needs the ``anywidget`` package; skipped
  with a reason when it is missing).

Every way includes the prediction (the model integrated over all 500 sample
times), which every update needs. Without a browser attached, widget values are
serialised but not sent, so the kernel-side cost is measured; drawing in the
browser happens in another process. Writes::

    {"baseline": {"iterations_per_second"},
     "ways": {name: {"iterations_per_second", "updates_per_second",
                     "seconds_per_update", "training_speed_kept"} or {"skipped": why}},
     "default_run": {"iterations", "seconds", "final_mse", "best_mse"}}
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from nodelib import reproducibility, spiral
from nodelib.widgets.spiral_lab import (
    DRAWING_SHARE,
    UPDATES_PER_SECOND,
    SpiralLab,
    spiral_lab,
)


def _svg_full(lab: SpiralLab):
    """The lab's first way: a 2 x 2 matplotlib figure, re-rendered to SVG at every update."""
    data, t = lab.data, lab.data.t.numpy()
    figure = Figure(figsize=(9, 5.6))
    figure.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=0.95, hspace=0.35)
    (phase, series), (field, loss) = figure.subplots(2, 2)
    phase.plot(data.y[:, 0], data.y[:, 1], lw=3)
    (phase_line,) = phase.plot([], [])
    series.plot(t, data.y[:, 0], lw=3)
    (x_line,) = series.plot([], [])
    (y_line,) = series.plot([], [])
    gx, gy, u, v = spiral.vector_field(spiral.true_field(data.kind), 2.2, 11)
    field.quiver(gx, gy, u, v)
    quiver = field.quiver(gx, gy, 0 * u, 0 * v)
    (loss_line,) = loss.semilogy([1], [1.0])

    def draw():
        prediction = lab.trainer.predict().numpy()
        phase_line.set_data(prediction[:, 0], prediction[:, 1])
        x_line.set_data(t, prediction[:, 0])
        y_line.set_data(t, prediction[:, 1])
        _, _, u, v = spiral.vector_field(spiral.learned_field(lab.trainer.model), 2.2, 11)
        quiver.set_UVC(u, v)
        losses = lab.trainer.losses
        loss_line.set_data(np.arange(1, len(losses) + 1), losses)
        loss.relim()
        loss.autoscale_view()
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            figure.savefig(buffer, format="svg")
        return buffer.getvalue()

    return draw


def _plotly_figurewidget(lab: SpiralLab):
    """A plotly FigureWidget with the lab's four panels, updated in one batch per update."""
    import plotly.graph_objects as go  # FigureWidget raises ImportError without anywidget
    from plotly.subplots import make_subplots

    data, t = lab.data, lab.data.t.numpy()
    figure = go.FigureWidget(make_subplots(rows=2, cols=2))
    figure.add_scatter(x=data.y[:, 0].numpy(), y=data.y[:, 1].numpy(), row=1, col=1)
    figure.add_scatter(x=[], y=[], row=1, col=1)
    figure.add_scatter(x=t, y=[], row=1, col=2)
    figure.add_scatter(x=t, y=[], row=1, col=2)
    figure.add_scatter(x=[], y=[], row=2, col=1)  # arrows as line segments
    figure.add_scatter(x=[], y=[], row=2, col=2)
    gx, gy, _, _ = spiral.vector_field(spiral.true_field(data.kind), 2.2, 11)

    def draw():
        prediction = lab.trainer.predict().numpy()
        _, _, u, v = spiral.vector_field(spiral.learned_field(lab.trainer.model), 2.2, 11)
        norm = np.sqrt(u**2 + v**2) + 1e-12
        ends_x, ends_y = gx + 0.2 * u / norm, gy + 0.2 * v / norm
        nan = np.full(gx.size, np.nan)
        arrows_x = np.stack([gx.ravel(), ends_x.ravel(), nan], axis=1).ravel()
        arrows_y = np.stack([gy.ravel(), ends_y.ravel(), nan], axis=1).ravel()
        losses = lab.trainer.losses
        with figure.batch_update():
            figure.data[1].x, figure.data[1].y = prediction[:, 0], prediction[:, 1]
            figure.data[2].y = prediction[:, 0]
            figure.data[3].y = prediction[:, 1]
            figure.data[4].x, figure.data[4].y = arrows_x, arrows_y
            figure.data[5].x, figure.data[5].y = np.arange(1, len(losses) + 1), losses

    return draw


def train_with_updates(lab: SpiralLab, draw, seconds: float) -> dict:
    """Train ``lab.trainer`` for ``seconds``, calling ``draw`` under the lab's policy."""
    trainer = lab.trainer
    updates, drawing = 0, 0.0
    start = time.perf_counter()
    first = trainer.iteration
    next_update = start + 1.0 / UPDATES_PER_SECOND
    while time.perf_counter() - start < seconds:
        trainer.step()
        now = time.perf_counter()
        if draw is not None and now >= next_update:
            draw()
            cost = time.perf_counter() - now
            updates, drawing = updates + 1, drawing + cost
            next_update = now + max(1.0 / UPDATES_PER_SECOND, cost / DRAWING_SHARE)
    elapsed = time.perf_counter() - start
    result = {"iterations_per_second": (trainer.iteration - first) / elapsed}
    if draw is not None:
        result |= {
            "updates_per_second": updates / elapsed,
            "seconds_per_update": drawing / max(updates, 1),
        }
    return result


def default_run(iterations: int | None = None) -> dict:
    """The lab's default run (its settings, its learning-rate schedule), without drawing."""
    lab = spiral_lab()
    trainer, mses = lab.trainer, []
    iterations = iterations or lab.iterations.value
    start = time.perf_counter()
    for _ in range(iterations):
        for group in trainer.optimiser.param_groups:
            group["lr"] = lab.learning_rate(trainer.iteration)
        trainer.step()
        if trainer.iteration % 25 == 0 or trainer.iteration == iterations:
            mses.append(trainer.trajectory_mse())
    return {
        "iterations": iterations,
        "seconds": time.perf_counter() - start,
        "final_mse": mses[-1],
        "best_mse": min(mses),
    }


def run(seconds: float = 10.0, quick: bool = False) -> dict:
    ways = {"blit_png": None, "svg_full": _svg_full, "plotly_figurewidget": _plotly_figurewidget}
    with spiral.single_thread():
        lab = spiral_lab()
        for _ in range(3):  # warm-up: the first steps pay for lazy imports
            lab.trainer.step()
        baseline = train_with_updates(lab, None, seconds)
        results = {}
        for name, make in ways.items():
            lab = spiral_lab()  # every way starts from the same model
            try:
                draw = lab._redraw if make is None else make(lab)
            except ImportError as error:
                results[name] = {"skipped": f"{type(error).__name__}: {error}"}
                continue
            results[name] = train_with_updates(lab, draw, seconds)
            results[name]["training_speed_kept"] = (
                results[name]["iterations_per_second"] / baseline["iterations_per_second"]
            )
        run_summary = default_run(20 if quick else None)
    return {"baseline": baseline, "ways": results, "default_run": run_summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="one second per way (tests)")
    parser.add_argument("--seconds", type=float, default=10.0, help="training time per way")
    args = parser.parse_args(argv)
    results = run(seconds=1.0 if args.quick else args.seconds, quick=args.quick)
    results = reproducibility.write_result(results, args.out, [__file__, *(argv or sys.argv[1:])])
    json.dump(results, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    raise SystemExit(main())
