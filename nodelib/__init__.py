"""nodelib: the library behind the course *Neural ODEs, from convolutions to the adjoint method*.

Each module holds one idea and has a home chapter that explains it:

- :mod:`nodelib.config`   fast mode, data directory, device (the only global state)
- :mod:`nodelib.seeding`  :func:`seed_everything`
- :mod:`nodelib.viz`      showing plotly figures in Jupyter, Colab and the HTML book
- :mod:`nodelib.tableaus` Butcher tableaus of euler, midpoint, rk4, rk4_38, dopri5 (methods as data)
- :mod:`nodelib.runge_kutta` one explicit Runge–Kutta step for any tableau
- :mod:`nodelib.step_size` error ratio, optimal next step, initial step of adaptive solvers
- :mod:`nodelib.solvers`  :func:`odeint` (fixed-step and adaptive), :class:`SolveStats`
- :mod:`nodelib.adjoint`  :func:`odeint_adjoint`, gradients by the continuous adjoint method
- :mod:`nodelib.discrete_adjoint` backward recursion of the discrete adjoint, dual-problem identity
- :mod:`nodelib.errors`   :class:`SolverError` and its subclasses (failures during a solve)
"""

from nodelib import config
from nodelib.adjoint import odeint_adjoint
from nodelib.errors import SolverError
from nodelib.seeding import seed_everything
from nodelib.solvers import SolveStats, odeint

__all__ = ["config", "seed_everything", "odeint", "odeint_adjoint", "SolveStats", "SolverError"]
__version__ = "0.1.0"
