"""Experiments that run outside the book, from the command line.

- ``python -m nodelib.experiments.classify``: ODE-Net vs ResNet vs CNN on
  MNIST or Fashion-MNIST (chapter 8); ``--help`` explains every option.
- ``checkpoints`` (resumable training state) and ``atomic_files`` (writes that an
  interruption cannot half-do), used by ``classify``.
"""
