"""The live spiral lab, driven from pytest: buttons, the background thread, the plots."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pytest

from nodelib import spiral
from nodelib.widgets.spiral_lab import LOSS_RANGE, SpiralLab, spiral_lab

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def lab():
    lab = spiral_lab()
    lab.iterations.value = 50
    lab.window.value = 3
    yield lab
    lab.stop()


def _wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _controls_state(lab) -> dict:
    return {
        "settings disabled": all(c.disabled for c in lab.settings),
        "train disabled": lab.train_button.disabled,
        "stop disabled": lab.stop_button.disabled,
    }


RUNNING = {"settings disabled": True, "train disabled": True, "stop disabled": False}


def test_spiral_lab_is_an_ipywidgets_container_with_four_png_panels(lab):
    assert isinstance(lab, widgets.VBox)
    assert len(lab.panels) == 4
    for panel in lab.panels:
        assert panel.png.startswith(PNG_SIGNATURE)
        assert panel.widget.value.startswith('<img src="data:image/png;base64,')
    labels = {b.description for b in (lab.train_button, lab.stop_button, lab.reset_button)}
    assert labels == {"Train", "Stop", "Reset"}


def test_solver_choices_are_nodelibs_solvers(lab):
    assert list(lab.solver.options) == ["euler", "midpoint", "rk4", "dopri5"]


def test_train_changes_the_prediction_and_lowers_the_loss(lab):
    before_prediction = lab.prediction.copy()
    before_images = [panel.png for panel in lab.panels]
    lab.solver.value = "euler"
    lab.lr.value = 0.1
    lab.train_button.click()
    assert lab.wait(timeout=60)
    assert lab.error is None
    assert lab.trainer.iteration == 50 and lab.trainer.solver == "euler"
    assert np.max(np.abs(lab.prediction - before_prediction)) > 0.1
    changed = [p.png != old for p, old in zip(lab.panels, before_images, strict=True)]
    assert all(changed)
    assert np.mean(lab.trainer.losses[-5:]) < 0.5 * lab.trainer.losses[0]


def test_settings_are_disabled_while_training(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    assert lab.running and _controls_state(lab) == RUNNING
    lab.stop_button.click()
    assert not lab.solver.disabled and not lab.train_button.disabled


# ---------------------------------------------------------------- settings changed from code


def test_a_setting_changed_from_code_while_training_keeps_stop_enabled(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    _wait_until(lambda: lab.trainer.iteration >= 2)
    lab.solver.value = "euler"  # from code: the disabled control does not stop this
    assert lab.running and _controls_state(lab) == RUNNING
    lab.stop_button.click()
    assert not lab.running and lab.trainer.iteration < 2000
    assert not lab.train_button.disabled and lab.stop_button.disabled


def test_a_setting_changed_from_code_while_training_applies_at_the_next_iteration(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    _wait_until(lambda: lab.trainer.iteration >= 2)
    lab.solver.value = "midpoint"
    lab.lr.value = 0.01
    lab.decay.value = False
    lab.batch.value = 16
    changed_at = lab.trainer.iteration
    assert lab.trainer.solver == "midpoint" and lab.trainer.n_windows == 16
    assert lab.trainer.lr == pytest.approx(0.01)
    _wait_until(lambda: lab.trainer.iteration >= changed_at + 2)  # the thread goes on
    assert lab.trainer.optimiser.param_groups[0]["lr"] == pytest.approx(0.01)
    lab.stop()
    assert lab.error is None


def test_fewer_iterations_set_from_code_end_the_run(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    _wait_until(lambda: lab.trainer.iteration >= 3)
    lab.iterations.value = 10
    assert lab.wait(timeout=30)
    assert lab.trainer.iteration <= max(10, lab.trainer.iteration)  # ended, not at 2000
    assert lab.trainer.iteration < 100
    assert not lab.train_button.disabled and lab.stop_button.disabled


def test_train_works_again_after_a_setting_changed_from_code_during_a_run(lab):
    lab.train_button.click()
    lab.window.value = 5  # from code, while running
    assert lab.wait(timeout=60)
    lab.train_button.click()
    assert lab.wait(timeout=60)
    assert lab.trainer.iteration == 100 and lab.trainer.window == 5


# ---------------------------------------------------------------- stop, reset, errors


def test_stop_halts_training_within_a_second(lab):
    lab.iterations.value = 2000
    lab.train_button.click()
    time.sleep(0.5)
    clicked = time.perf_counter()
    lab.stop_button.click()
    assert not lab.running
    # one iteration and one last update of the panels; generous for a busy 2-core machine
    assert time.perf_counter() - clicked < 2.0
    halted_at = lab.trainer.iteration
    time.sleep(0.3)
    assert lab.trainer.iteration == halted_at < 2000


def test_train_after_stop_continues_from_the_current_model(lab):
    lab.train_button.click()
    lab.wait()
    lab.train_button.click()
    lab.wait()
    assert lab.trainer.iteration == 100


def test_reset_restores_the_initial_model(lab):
    initial = lab.prediction.copy()
    lab.train_button.click()
    lab.wait()
    lab.reset_button.click()
    assert lab.trainer.iteration == 0 and lab.trainer.losses == []
    np.testing.assert_allclose(lab.prediction, initial)


def test_rapid_clicks_leave_a_consistent_state(lab):
    lab.iterations.value = 2000
    buttons = [lab.train_button, lab.stop_button, lab.reset_button, lab.train_button]
    for k in range(24):
        buttons[k % len(buttons)].click()
    lab.stop_button.click()
    assert not lab.running and lab.error is None
    assert not lab.train_button.disabled and lab.stop_button.disabled
    assert len(lab.trainer.losses) == lab.trainer.iteration


def test_an_error_during_training_is_shown_in_the_readout_not_raised(lab):
    def failing_step():
        raise RuntimeError("solver gave up")

    lab.trainer.step = failing_step  # Train keeps the trainer, so the patch stays in place
    lab.train_button.click()
    assert lab.wait(timeout=30)
    assert lab.error == "RuntimeError: solver gave up"
    assert "solver gave up" in lab.readout.value
    assert not lab.train_button.disabled and not lab.solver.disabled


# ---------------------------------------------------------------- the loss panel and readout


def test_before_training_the_loss_panel_spans_the_coming_run_and_the_loss_range(lab):
    (x0, x1), (y0, y1) = lab.loss_axis_limits()
    assert (x0, x1) == (0.0, 50.0)
    assert (y0, y1) == LOSS_RANGE and y0 > 0 and y1 / y0 >= 1e4  # not -0.04..0.04
    axes = lab._loss_panel.axes
    assert axes.get_xlim() == (x0, x1) and axes.get_ylim() == pytest.approx((y0, y1))
    assert lab._loss_hint.get_visible()
    lab.iterations.value = 300
    assert axes.get_xlim() == (0.0, 300.0)


def test_reset_restores_the_loss_panels_initial_ranges(lab):
    initial = lab.loss_axis_limits()
    lab.train_button.click()
    lab.wait()
    lab.train_button.click()
    lab.wait()
    assert lab.loss_axis_limits() != initial and not lab._loss_hint.get_visible()
    lab.reset_button.click()
    assert lab.loss_axis_limits() == initial
    assert lab._loss_panel.axes.get_xlim() == initial[0] and lab._loss_hint.get_visible()


def test_the_nfe_readout_counts_training_evaluations_only(lab):
    assert lab.trainer.training_nfe == 0 and lab.trainer.nfe > 0  # the plot solved already
    assert "NFE in training</b> 0 " in lab.readout.value
    lab.train_button.click()
    lab.wait()
    reference = spiral.SpiralTrainer(
        lab.data, solver="rk4", window=3, n_windows=None, rtol=1e-5, atol=1e-7
    )
    for _ in range(50):
        reference.step()
    assert lab.trainer.training_nfe == reference.nfe  # the same steps, no plots
    assert f"NFE in training</b> {reference.nfe:,} " in lab.readout.value


def test_the_readout_shows_the_best_trajectory_mse_so_far(lab):
    lab.train_button.click()
    lab.wait()
    best_iteration, best = min(lab.mse_history, key=lambda item: item[1])
    assert f"(best {best:.3g} at {best_iteration})" in lab.readout.value


@pytest.mark.slow
def test_the_default_run_ends_within_a_small_margin_of_its_best_fit():
    lab = spiral_lab()  # every setting at its default
    lab.train_button.click()
    assert lab.wait(timeout=600)
    assert lab.error is None and lab.trainer.iteration == lab.iterations.value
    mses = [mse for _, mse in lab.mse_history]
    assert len(mses) >= 5  # the panels were updated during the run
    final, best = mses[-1], min(mses)
    assert final <= 1.1 * best + 1e-4, f"final MSE {final:.4g}, best {best:.4g}"
    assert final < 0.1 * mses[0]  # and it did learn


def test_the_defaults_are_the_remedies_the_note_explains(lab):
    note = lab.children[-1].value
    assert "16 random windows" in note and "decay the learning rate" in note
    assert lab.batch.value == 0 and lab.trainer.n_windows is None  # all windows
    assert lab.decay.value and lab.learning_rate(200) == pytest.approx(lab.lr.value / 2)
    lab.decay.value = False
    assert lab.learning_rate(200) == lab.lr.value
    lab.batch.value = 16
    assert lab.trainer.n_windows == 16


# ---------------------------------------------------------------- layout and accessibility


def test_every_control_has_a_description_and_a_tooltip(lab):
    controls = [*lab.settings, lab.train_button, lab.stop_button, lab.reset_button]
    for control in controls:
        assert control.description.strip(), control
        assert control.tooltip and len(control.tooltip) > 10, control.description
    assert len(set(c.description for c in controls)) == len(controls)


def test_every_panel_is_an_image_with_a_text_alternative(lab):
    for panel in lab.panels:
        assert len(panel.label) > 30
        assert f'alt="{html.escape(panel.label)}"' in panel.widget.value


def test_the_rows_wrap_and_nothing_is_wider_than_its_container(lab):
    rows = [child for child in lab.children if isinstance(child, widgets.Box)]
    assert len(rows) >= 3
    for row in rows:
        assert row.layout.flex_flow == "row wrap"
        for child in row.children:
            assert child.layout.max_width == "100%", child


def test_spiral_lab_class_is_exported():
    assert spiral_lab.__module__ == SpiralLab.__module__


@pytest.mark.slow
def test_the_update_benchmark_writes_the_documented_keys(tmp_path):
    out = tmp_path / "updates.json"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    script = REPO / "benchmarks" / "spiral_lab_updates.py"
    subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    result = json.loads(out.read_text())
    assert set(result) == {"baseline", "ways", "default_run", "command", "machine"}
    assert set(result["ways"]) == {"blit_png", "svg_full", "plotly_figurewidget"}
    blit = result["ways"]["blit_png"]
    assert blit["updates_per_second"] > 0 and 0 < blit["training_speed_kept"]
    assert result["default_run"]["final_mse"] > 0
