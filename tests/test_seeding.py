import random

import numpy as np
import pytest
import torch

import nodelib


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_repeats_every_generator():
    nodelib.seed_everything(3)
    first = draw()
    nodelib.seed_everything(3)
    assert draw() == first


def test_different_seeds_draw_differently():
    nodelib.seed_everything(1)
    first = draw()
    nodelib.seed_everything(2)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError, match="seed"):
        nodelib.seed_everything(bad)
