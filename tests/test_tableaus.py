"""Butcher tableaus are consistent data, display as tables, and have correct dense output."""

from fractions import Fraction

import pytest

from nodelib.tableaus import METHODS, TABLEAUS


@pytest.mark.parametrize("name", METHODS)
def test_stage_times_equal_row_sums(name):
    assert TABLEAUS[name].row_sums_match_c()


@pytest.mark.parametrize("name", METHODS)
def test_solution_weights_sum_to_one(name):
    assert sum(TABLEAUS[name].b, Fraction(0)) == 1


def test_dopri5_error_weights_sum_to_zero():
    assert sum(TABLEAUS["dopri5"].b_error, Fraction(0)) == 0


def test_only_dopri5_is_adaptive_and_fsal():
    assert [name for name in METHODS if TABLEAUS[name].adaptive] == ["dopri5"]
    assert [name for name in METHODS if TABLEAUS[name].fsal] == ["dopri5"]


def test_rk4_is_classic_and_rk4_38_is_the_three_eighths_rule():
    assert TABLEAUS["rk4"].b == tuple(Fraction(x, 6) for x in (1, 2, 2, 1))
    assert TABLEAUS["rk4_38"].b == tuple(Fraction(x, 8) for x in (1, 3, 3, 1))


@pytest.mark.parametrize("name", ["rk4", "rk4_38", "dopri5"])
def test_fourth_order_quadrature_conditions_hold(name):
    tableau = TABLEAUS[name]
    b, c = tableau.b, tableau.c
    for k in range(1, 5):  # quadrature conditions sum b_i c_i^(k-1) = 1/k
        assert sum(
            (bi * ci ** (k - 1) for bi, ci in zip(b, c, strict=True)), Fraction(0)
        ) == Fraction(1, k)


def test_dopri5_dense_output_at_theta_one_equals_solution_weights():
    tableau = TABLEAUS["dopri5"]
    assert tableau.dense_weights(1.0) == pytest.approx([float(x) for x in tableau.b], abs=1e-14)
    assert tableau.dense_weights(0.0) == pytest.approx([0.0] * 7)


def test_dopri5_dense_coefficients_match_scipy_rk45():
    rk = pytest.importorskip("scipy.integrate._ivp.rk")
    ours = [float(p) for poly in TABLEAUS["dopri5"].dense for p in poly]
    assert ours == pytest.approx(rk.RK45.P.flatten().tolist(), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("name", METHODS)
def test_tableau_displays_as_markdown_table(name):
    text = TABLEAUS[name].to_markdown()
    assert f"**{name}**" in text
    assert text.count("\n|") == TABLEAUS[name].stages + 3 + TABLEAUS[name].adaptive
    assert TABLEAUS[name]._repr_markdown_() == text
    assert name in str(TABLEAUS[name])


def test_every_tableau_has_a_lesson():
    assert all(len(TABLEAUS[name].lesson) > 40 for name in METHODS)
