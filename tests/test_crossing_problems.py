"""The two problems of chapter 9: the crossing map and the concentric annuli."""

import pytest
import torch

from nodelib import crossing_problems


def test_crossing_map_swaps_minus_one_and_one():
    problem = crossing_problems.crossing_map()
    assert problem.inputs.tolist() == [[-1.0], [1.0]]
    assert problem.targets.tolist() == [[1.0], [-1.0]]
    assert problem.data_dim == 1 and len(problem) == 2 and problem.task == "regression"


def test_annuli_put_the_disk_inside_the_ring_with_a_gap():
    problem = crossing_problems.annuli(400, r1=0.5, r2=1.0, r3=1.5, seed=3)
    radius = problem.inputs.norm(dim=1)
    inner = problem.targets[:, 0] == -1
    assert problem.inputs.shape == (400, 2) and problem.targets.shape == (400, 1)
    assert int(inner.sum()) == 200
    assert float(radius[inner].max()) <= 0.5
    assert float(radius[~inner].min()) >= 1.0 and float(radius[~inner].max()) <= 1.5
    assert problem.task == "classification"


def test_annuli_are_uniform_in_area_not_in_radius():
    # uniform in area: half the disk's points lie beyond r1 / sqrt(2)
    problem = crossing_problems.annuli(4000, seed=0)
    inner_radius = problem.inputs[problem.targets[:, 0] == -1].norm(dim=1)
    beyond = float((inner_radius > 0.5 / 2**0.5).float().mean())
    assert beyond == pytest.approx(0.5, abs=0.05)


def test_annuli_are_reproducible_from_the_seed():
    a = crossing_problems.annuli(50, seed=7)
    b = crossing_problems.annuli(50, seed=7)
    c = crossing_problems.annuli(50, seed=8)
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 1}, "n must be an integer >= 2"),
        ({"n": 2.5}, "n must be an integer >= 2"),
        ({"r1": 1.0, "r2": 1.0}, "need 0 < r1 < r2 < r3"),
        ({"r3": -1.0}, "r3 must be a positive number"),
    ],
)
def test_bad_annuli_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        crossing_problems.annuli(**kwargs)


def test_make_problem_knows_both_problems_and_names_the_valid_ones():
    assert crossing_problems.make_problem("crossing").name == "crossing"
    assert crossing_problems.make_problem("annuli", n=10).name == "annuli"
    with pytest.raises(ValueError, match="valid problems are"):
        crossing_problems.make_problem("spiral")
