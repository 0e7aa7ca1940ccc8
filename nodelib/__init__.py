"""nodelib: the library behind the course *Neural ODEs, from convolutions to the adjoint method*.

Each module holds one idea and has a home chapter that explains it:

- :mod:`nodelib.config`   fast mode, data directory, device (the only global state)
- :mod:`nodelib.seeding`  :func:`seed_everything`
- :mod:`nodelib.viz`      showing plotly figures in Jupyter, Colab and the HTML book
"""

from nodelib import config
from nodelib.seeding import seed_everything

__all__ = ["config", "seed_everything"]
__version__ = "0.1.0"
