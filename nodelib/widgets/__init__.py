"""Interactive widgets (ipywidgets + plotly), one module per widget.

``import nodelib`` does not import this package, so the core library stays quick
to import; ``from nodelib.widgets import spiral_lab`` loads ipywidgets when a
chapter first asks for a widget.

Some widget functions share their module's name (``spiral_lab`` lives in
``nodelib/widgets/spiral_lab.py``). Importing them here, after their modules,
makes ``nodelib.widgets.spiral_lab`` the function rather than the module.
"""

from nodelib.widgets.augmented_lab import augmented_lab
from nodelib.widgets.convolution import convolution_explorer, kernel_picker, pooling_explorer
from nodelib.widgets.cost_lab import cost_lab
from nodelib.widgets.depth_morph import depth_explorer
from nodelib.widgets.flow_lab import flow_lab
from nodelib.widgets.latent_lab import latent_lab
from nodelib.widgets.solver_picker import solver_picker
from nodelib.widgets.spiral_lab import spiral_lab
from nodelib.widgets.tolerance_explorer import tolerance_explorer

__all__ = [
    "augmented_lab",
    "convolution_explorer",
    "cost_lab",
    "depth_explorer",
    "flow_lab",
    "kernel_picker",
    "latent_lab",
    "pooling_explorer",
    "solver_picker",
    "spiral_lab",
    "tolerance_explorer",
]
