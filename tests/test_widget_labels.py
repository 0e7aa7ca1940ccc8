"""Every control of the course's widgets has a description a screen reader announces.

ipywidgets shows ``description`` as the control's <label>; a control without one is an
unnamed box or slider to a screen reader (axe-core rules label, aria-input-field-name).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pytest
import torch

from nodelib import adjoint_study
from nodelib import irregular_series as irs
from nodelib.latent_ode import LatentODE

# convolution and depth_morph are modules; solver_picker and tolerance_explorer are the widget
# functions that nodelib.widgets exports under their modules' names
from nodelib.widgets import convolution, depth_morph, solver_picker, tolerance_explorer
from nodelib.widgets.cost_lab import CostLab
from nodelib.widgets.latent_lab import latent_lab

#: Widgets that only show something; everything else is a control the reader operates.
DISPLAY_ONLY = (widgets.HTML, widgets.HTMLMath, widgets.Label, widgets.Output, widgets.Box)


def controls(widget) -> list:
    """All controls inside ``widget`` (itself included), depth first."""
    found = [] if isinstance(widget, DISPLAY_ONLY) else [widget]
    for child in getattr(widget, "children", ()):
        found += controls(child)
    return found


def image():
    return np.random.default_rng(0).random((12, 12))


WIDGETS = {
    "convolution_explorer": lambda: convolution.convolution_explorer(),
    "kernel_picker": lambda: convolution.kernel_picker(image()),
    "pooling_explorer": lambda: convolution.pooling_explorer(image()),
    "depth_explorer": lambda: depth_morph.depth_explorer(depth=2, max_depth=8),
    "tolerance_explorer": lambda: tolerance_explorer(
        adjoint_study.MLPDynamics(dim=2, hidden=4, damping=1.0).double(),
        torch.ones(2, 2, dtype=torch.float64),
        0.5,
    ),
    "solver_picker": lambda: solver_picker(),
    "cost_lab": lambda: CostLab(n_points=16),
    "latent_lab": lambda: latent_lab(LatentODE(), irs.make_spirals(2, n_times=20)),
}


@pytest.mark.parametrize("make", WIDGETS.values(), ids=list(WIDGETS))
def test_every_control_has_a_description(make):
    torch.manual_seed(0)
    found = controls(make())
    assert found, "the widget has no controls"
    unnamed = [type(c).__name__ for c in found if not str(c.description).strip()]
    assert not unnamed, f"controls without a description: {unnamed}"


def test_kernel_entries_are_named_by_their_row_and_column():
    picker = convolution.kernel_picker(image())
    names = [[box.description for box in row] for row in picker.controls["entries"]]
    assert names[0][0] == "row 1, col 1"
    assert names[2][1] == "row 3, col 2"
    assert len({name for row in names for name in row}) == 9


def test_the_solver_pickers_drawing_is_an_image_named_after_what_it_shows():
    picker = solver_picker()
    picker.method.value = "euler"
    svg_tag = picker.figure.value[: picker.figure.value.index(">")]
    assert 'role="img"' in svg_tag
    assert "euler solution" in svg_tag and f"{picker.steps} accepted steps" in svg_tag


def test_stand_in_figures_of_chapter_2_have_titles():
    assert convolution.kernel_picker_figure(image(), ["identity"]).layout.title.text
    assert convolution.pooling_slider_figure(image(), (2,), ("max",)).layout.title.text
