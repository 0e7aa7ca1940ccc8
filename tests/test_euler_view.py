"""Chapter 4: a residual network with shared weights is Euler's method and converges to the flow."""

from __future__ import annotations

import pytest
import torch

from nodelib import euler_view
from nodelib.solvers import odeint
from nodelib.widgets.depth_morph import depth_explorer


@pytest.fixture
def field():
    return euler_view.TanhField(seed=0)


@pytest.fixture
def h0():
    return euler_view.initial_grid(3)


@pytest.mark.parametrize("depth", [1, 3, 10, 32])
def test_residual_network_of_depth_n_is_n_euler_steps_of_odeint(field, h0, depth):
    network = euler_view.residual_network(field, h0, depth)
    times = torch.linspace(0.0, 1.0, depth + 1, dtype=torch.float64)
    euler = odeint(field, h0, times, method="euler")[-1]
    torch.testing.assert_close(network, euler, rtol=0, atol=1e-12)


def test_residual_network_path_starts_at_the_input_and_has_one_state_per_block(field, h0):
    path = euler_view.residual_network(field, h0, 5, return_path=True)
    assert path.shape == (6, *h0.shape)
    assert torch.equal(path[0], h0)


def test_error_against_the_flow_falls_like_one_over_depth(field, h0):
    study = euler_view.error_vs_depth(field, h0, [8, 16, 32, 64, 128])
    assert all(a > b for a, b in zip(study.errors, study.errors[1:], strict=False))
    assert -1.2 <= study.slope <= -0.8


def test_doubling_the_depth_roughly_halves_the_error(field, h0):
    study = euler_view.error_vs_depth(field, h0, [64, 128])
    assert study.errors[1] / study.errors[0] == pytest.approx(0.5, abs=0.05)


def test_loglog_slope_recovers_the_exponent_of_a_power_law():
    x = [1.0, 2.0, 4.0, 8.0]
    assert euler_view.loglog_slope(x, [3 * v**-2 for v in x]) == pytest.approx(-2.0)


def test_depth_morph_figure_has_one_frame_per_depth(field, h0):
    depths = [1, 2, 4, 8]
    fig = euler_view.depth_morph_figure(field, h0, depths)
    assert [frame.name for frame in fig.frames] == ["1", "2", "4", "8"]
    assert len(fig.layout.sliders[0].steps) == len(depths)
    # the network's path (trace 1) has depth + 1 points per trajectory, plus a None separator
    for depth, frame in zip(depths, fig.frames, strict=True):
        assert len(frame.data[1].x) == len(h0) * (depth + 2)


def test_depth_morph_outputs_approach_the_flow_end_points(field, h0):
    fig = euler_view.depth_morph_figure(field, h0, [2, 64])
    exact = euler_view.ode_flow(field, h0)[-1]
    gaps = [
        max(
            ((x - ex) ** 2 + (y - ey) ** 2) ** 0.5
            for x, y, (ex, ey) in zip(frame.data[2].x, frame.data[2].y, exact.tolist(), strict=True)
        )
        for frame in fig.frames
    ]
    assert gaps[1] < gaps[0] / 10


@pytest.mark.parametrize("depth", [0, -3, 2.5, True, "4"])
def test_residual_network_rejects_a_bad_depth(field, h0, depth):
    with pytest.raises(ValueError, match="depth"):
        euler_view.residual_network(field, h0, depth)


def test_residual_network_rejects_an_empty_time_interval(field, h0):
    with pytest.raises(ValueError, match="t0"):
        euler_view.residual_network(field, h0, 4, t0=1.0, t1=1.0)


def test_error_vs_depth_needs_two_different_depths(field, h0):
    with pytest.raises(ValueError, match="depths"):
        euler_view.error_vs_depth(field, h0, [8, 8])


def test_depth_morph_figure_rejects_states_that_are_not_two_dimensional():
    field3 = euler_view.TanhField(dim=3)
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        euler_view.depth_morph_figure(field3, torch.zeros(4, 3, dtype=torch.float64), [1, 2])


def test_loglog_slope_rejects_non_positive_values():
    with pytest.raises(ValueError, match="positive"):
        euler_view.loglog_slope([1, 2], [0.0, 1.0])


def test_depth_explorer_readout_and_figure_follow_the_slider(field, h0):
    explorer = depth_explorer(field, h0, depth=2)
    error_before, readout_before = explorer.error, explorer.readout.value
    explorer.depth.value = 40
    assert explorer.error < error_before / 10
    assert explorer.readout.value != readout_before and "40" in explorer.readout.value
    assert len(explorer.figure.data[1].x) == len(h0) * (40 + 2)


def test_depth_explorer_shows_its_figure_in_its_output_area(field, h0):
    explorer = depth_explorer(field, h0, depth=3)
    (shown,) = explorer.output.outputs
    assert shown["data"]["application/vnd.plotly.v1+json"]["data"][1]["x"] == list(
        explorer.figure.data[1].x
    )
    assert "<div" in shown["data"]["text/html"]


def test_depth_explorer_rejects_a_depth_beyond_its_slider():
    with pytest.raises(ValueError, match="depth"):
        depth_explorer(depth=100, max_depth=64)
