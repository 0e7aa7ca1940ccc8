"""Experiments that run outside the book, from the command line.

- ``python -m nodelib.experiments.classify``: ODE-Net vs ResNet vs CNN on
  MNIST or Fashion-MNIST (chapter 8); ``--help`` explains every option.
- ``checkpoints``: the resumable training state ``classify`` saves and ``--resume`` reads
  (written with :mod:`nodelib.atomic_files`, so an interruption cannot half-do it).
"""
