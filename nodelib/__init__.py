"""nodelib: the library behind the course *Neural ODEs, from convolutions to the adjoint method*.

Each module holds one idea and has a home chapter that explains it.

Foundations (chapters 1-3)

- :mod:`nodelib.conv`      convolutions and pooling from scratch (1, 2)
- :mod:`nodelib.networks`  deep MLPs, a small CNN, residual blocks and ResNets (2, 3)
- :mod:`nodelib.train`     a plain, seeded training loop for classifiers (2)
- :mod:`nodelib.data`      MNIST or Fashion-MNIST, read offline when possible (2)

Neural ODEs (chapters 4-6)

- :mod:`nodelib.euler_view` residual networks as Euler steps; error against depth (4)
- :mod:`nodelib.pinn`      a PINN and a Neural ODE side by side on one problem (4)
- :mod:`nodelib.tableaus`  Butcher tableaus of euler, midpoint, rk4, rk4_38, dopri5 (5)
- :mod:`nodelib.runge_kutta` one explicit Runge-Kutta step for any tableau (5)
- :mod:`nodelib.step_size` error ratio, next step size, initial step of adaptive solvers (5)
- :mod:`nodelib.solvers`   :func:`odeint` (fixed-step and adaptive), :class:`SolveStats` (5)
- :mod:`nodelib.solver_study` orders of convergence, work-precision, step history, stiffness (5)
- :mod:`nodelib.errors`    :class:`SolverError` and its subclasses (failures during a solve)
- :mod:`nodelib.discrete_adjoint` the discrete adjoint recursion, the dual-problem identity (6)
- :mod:`nodelib.adjoint`   :func:`odeint_adjoint`, gradients by the continuous adjoint (6)
- :mod:`nodelib.adjoint_study` dual-problem cost, gradient checks, memory and time of
  backward passes, the reverse solve's error against tolerance (6)

Applications (chapters 7-9)

- :mod:`nodelib.spiral`    learning a spiral with a neural ODE: the source's protocol and ours (7)
- :mod:`nodelib.odenet`    ODE-Nets and their ResNet and CNN baselines for images (8)
- :mod:`nodelib.experiments` the command-line image experiment and its results files (8, 9)
- :mod:`nodelib.atomic_files` writes that an interruption cannot half-do (results, checkpoints)

Beyond the source: what flows cannot do (chapter 9)

- :mod:`nodelib.crossing_problems` the crossing map and the annuli: maps no flow represents (9)
- :mod:`nodelib.augmented` Neural ODEs, augmented Neural ODEs and ResNets; training, NFE (9)
- :mod:`nodelib.augmented_figures` trajectories, decision boundaries, 3-D lifts, NFE curves (9)

Beyond the source: continuous normalizing flows (chapter 10)

- :mod:`nodelib.toy_densities` two moons, rings, checkerboard, ...; the best-Gaussian baseline (10)
- :mod:`nodelib.traces`    the trace of a Jacobian: exact, and Hutchinson's estimator (10)
- :mod:`nodelib.cnf`       continuous normalizing flows: log-likelihood, sampling, training (10)

Beyond the source: irregular time series (chapter 11)

- :mod:`nodelib.irregular_series` spirals observed at irregular times; batches with masks (11)
- :mod:`nodelib.latent_ode` the latent ODE: encoder, ODE decoder, ELBO (11)
- :mod:`nodelib.ode_rnn`   the ODE-RNN and the GRU given the time gaps (11)
- :mod:`nodelib.irregular_training` training and scoring the three models (11)
- :mod:`nodelib.latent_ode_figures` reconstructions, extrapolations, latent paths (11)

Beyond the source: the price of training (chapter 12)

- :mod:`nodelib.regularisation` kinetic and Jacobian (Hutchinson) penalties along a solve (12)
- :mod:`nodelib.training_cost` NFE growth during training, and what the penalties save (12)
- :mod:`nodelib.checkpointed_adjoint` :func:`odeint_checkpointed`, backprop's gradient in
  the memory of K states (12)
- :mod:`nodelib.adjoint_variants` gradient error and memory of backsolve, checkpointed and
  backprop; the seminorm (12)
- :mod:`nodelib.implicit_tableaus` backward Euler and SDIRK2 as data (12)
- :mod:`nodelib.implicit_solvers` :func:`odeint_implicit`: one DIRK step with Newton (12)
- :mod:`nodelib.stiffness` stiff Van der Pol; explicit against implicit; stability regions (12)

Around the chapters

- :mod:`nodelib.config`    fast mode, data directory, device (the only global state)
- :mod:`nodelib.seeding`   :func:`seed_everything`
- :mod:`nodelib.viz`       showing plotly figures in Jupyter, Colab and the HTML book
- :mod:`nodelib.glue`      computed numbers in the prose (myst-nb's glue, or a plain display)
- :mod:`nodelib.widgets`   the live ipywidgets of the chapters, one module per widget
- :mod:`nodelib.exercises` named ✅/❌ checks that say what is off, one module per chapter
- :mod:`nodelib.reproducibility` machine stamps of benchmarks, and reading results back
- :mod:`nodelib.book_build` a myst-nb plug-in used only when building the book
"""

from nodelib import config
from nodelib.adjoint import odeint_adjoint
from nodelib.checkpointed_adjoint import odeint_checkpointed
from nodelib.errors import SolverError
from nodelib.seeding import seed_everything
from nodelib.solvers import SolveStats, odeint

__all__ = [
    "config",
    "seed_everything",
    "odeint",
    "odeint_adjoint",
    "odeint_checkpointed",
    "SolveStats",
    "SolverError",
]
__version__ = "0.1.0"
