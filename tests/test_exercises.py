import numpy as np
import torch

from nodelib.exercises import Verdict, check, predict, reveal


def test_a_right_answer_gets_a_tick(capsys):
    assert check(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    assert "✅" in capsys.readouterr().out


def test_a_wrong_answer_gets_a_cross(capsys):
    assert not check(3.0, 4.7)
    assert "❌" in capsys.readouterr().out


def test_a_wrong_shape_is_named(capsys):
    assert not check([1.0, 2.0], [[1.0, 2.0]])
    assert "shape (2,), expected (1, 2)" in capsys.readouterr().out


def test_a_flipped_sign_is_named(capsys):
    assert not check(np.array([-1.0, 2.0]), np.array([1.0, -2.0]))
    assert "sign is flipped" in capsys.readouterr().out


def test_a_factor_of_two_is_named(capsys):
    assert not check(6.0, 3.0)
    assert "2 times the expected value" in capsys.readouterr().out
    assert not check(1.5, 3.0)
    assert "1/2 times the expected value" in capsys.readouterr().out


def test_a_wrong_order_of_magnitude_is_named(capsys):
    assert not check(0.0031, 3.1)
    assert "order of magnitude is off: about 10^-3" in capsys.readouterr().out


def test_a_transposed_matrix_is_named(capsys):
    want = np.arange(6.0).reshape(2, 3)
    assert not check(want.T.copy(), want)  # a non-square transpose has the wrong shape
    assert "shape (3, 2), expected (2, 3)" in capsys.readouterr().out
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert not check(square.T, square)
    assert "transpose" in capsys.readouterr().out


def test_an_anticipated_mistake_gets_its_own_message(capsys):
    assert not check(np.log(8.0), np.log2(8.0), mistakes=[(np.log(8.0), "natural log used")])
    assert "natural log used" in capsys.readouterr().out


def test_an_untouched_placeholder_is_not_attempted(capsys):
    assert not check(..., 1.0)
    assert "not attempted" in capsys.readouterr().out


def test_non_numeric_answers_compare_exactly(capsys):
    assert check("euler", "euler")
    assert not check("rk4", "euler")


def test_a_verdict_displays_nothing_as_a_cells_last_value():
    verdict = check(1.0, 1.0)
    assert isinstance(verdict, Verdict) and verdict.correct
    assert verdict._ipython_display_() is None


OPTIONS = {"a": "it grows", "b": "it stays", "c": "it shrinks"}


def test_a_prediction_must_be_one_of_the_options(capsys):
    assert not predict("d", OPTIONS)
    assert "not one of the options" in capsys.readouterr().out
    assert not predict(..., OPTIONS)
    assert "not made yet" in capsys.readouterr().out
    assert predict("a", OPTIONS)


def test_reveal_says_whether_the_prediction_was_right(capsys):
    assert reveal("a", "a", OPTIONS, "Because.")
    assert "right" in capsys.readouterr().out
    assert not reveal("b", "a", OPTIONS, "Because.")
    out = capsys.readouterr().out
    assert "you predicted 'b'" in out and "'a' (it grows)" in out
