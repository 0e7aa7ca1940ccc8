import torch

from nodelib.exercises import check


def test_a_right_answer_gets_a_tick(capsys):
    assert check(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9]) is True
    assert "✅" in capsys.readouterr().out


def test_a_wrong_answer_gets_a_cross(capsys):
    assert check(3.0, 4.0) is False
    assert "❌" in capsys.readouterr().out


def test_a_wrong_shape_is_named(capsys):
    assert check([1.0, 2.0], [[1.0, 2.0]]) is False
    assert "shape" in capsys.readouterr().out


def test_an_untouched_placeholder_is_not_attempted(capsys):
    assert check(..., 1.0) is False
    assert "not attempted" in capsys.readouterr().out


def test_non_numeric_answers_compare_exactly(capsys):
    assert check("euler", "euler") is True
    assert check("rk4", "euler") is False
