"""Tests of nodelib.experiments.comparison: chapter 8's statistics over seeds."""

import pytest

from nodelib.experiments import comparison, figures


def fake_run(model, accuracies, seconds=60.0, params=1000, nfe=4.0):
    history = [
        {"epoch": e + 1, "test_accuracy": a, "seconds": seconds, "load_average": 1.0,
         "nfe_forward_curve": [nfe, nfe + 1], "nfe_backward_curve": [nfe, nfe]}
        for e, a in enumerate(accuracies)
    ]  # fmt: skip
    return {
        "model": model, "test_accuracy": accuracies[-1], "seconds_per_epoch": seconds,
        "params": params, "nfe_forward": nfe, "nfe_backward": nfe,
        "activation_bytes_per_batch": 2**20, "history": history,
    }  # fmt: skip


def test_summary_has_the_mean_and_sample_standard_deviation_over_seeds():
    runs = [fake_run("odenet", [0.8, a]) for a in (0.90, 0.91, 0.92)]
    summary = comparison.summarise("odenet", runs)
    assert summary.accuracy_mean == pytest.approx(0.91)
    assert summary.accuracy_sd == pytest.approx(0.01)  # n - 1 in the denominator
    assert summary.seeds == 3 and summary.activation_mib == 1.0
    assert summary.accuracy_text() == "91.00 ± 1.00 %"


def test_one_seed_has_no_spread_and_cannot_be_compared():
    one = comparison.summarise("chen_odenet", [fake_run("chen_odenet", [0.9])])
    three = comparison.summarise("resnet", [fake_run("resnet", [a]) for a in (0.9, 0.91, 0.92)])
    assert one.accuracy_sd is None and one.accuracy_text() == "90.00 % (1 seed)"
    assert comparison.accuracy_gap(one, three).word == "cannot be compared with"


def test_a_difference_within_the_seed_spread_is_a_match():
    a = comparison.summarise("odenet", [fake_run("odenet", [x]) for x in (0.905, 0.915, 0.910)])
    b = comparison.summarise("resnet", [fake_run("resnet", [x]) for x in (0.912, 0.902, 0.917)])
    gap = comparison.accuracy_gap(a, b)
    assert gap.word == "matches" and gap.p_value > 0.05
    assert gap.difference == pytest.approx(100 * (a.accuracy_mean - b.accuracy_mean))


def test_a_difference_far_beyond_the_seed_spread_trails_or_leads():
    a = comparison.summarise("odenet", [fake_run("odenet", [x]) for x in (0.900, 0.901, 0.902)])
    b = comparison.summarise("resnet", [fake_run("resnet", [x]) for x in (0.920, 0.921, 0.922)])
    assert comparison.accuracy_gap(a, b).word == "trails"
    assert comparison.accuracy_gap(b, a).word == "leads"
    assert comparison.accuracy_gap(a, b).standard_error == pytest.approx((2 * 0.1**2 / 3) ** 0.5)


def test_time_to_an_accuracy_is_interpolated_between_epochs():
    run = fake_run("odenet", [0.80, 0.90, 0.95], seconds=60.0)
    assert comparison.seconds_to_reach(run, 0.85) == pytest.approx(90.0)
    assert comparison.seconds_to_reach(run, 0.70) == pytest.approx(60.0)  # after epoch 1
    assert comparison.seconds_to_reach(run, 0.99) is None
    assert comparison.minutes_to_reach([run, run], 0.90) == pytest.approx(2.0)


def test_common_accuracy_is_the_lowest_final_accuracy_of_the_compared_runs():
    found = {
        "odenet": [fake_run("odenet", [0.8, 0.91]), fake_run("odenet", [0.8, 0.90])],
        "resnet": [fake_run("resnet", [0.8, 0.92])],
        "cnn": [fake_run("cnn", [0.8, 0.85])],
    }
    summaries = comparison.summarise_suite(found)
    assert list(summaries) == ["odenet", "resnet", "cnn"]  # the order of odenet.MODELS
    assert comparison.common_accuracy(summaries, ["odenet", "resnet"]) == pytest.approx(0.90)


def test_missing_model_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="make results"):
        comparison.summarise("resnet", [])


def test_accuracy_time_figure_has_one_line_per_model_with_error_bars():
    found = {
        "odenet": [fake_run("odenet", [0.8, 0.9]), fake_run("odenet", [0.82, 0.91])],
        "chen_odenet": [fake_run("chen_odenet", [0.8, 0.9], seconds=600.0)],
    }
    fig = figures.accuracy_time_figure(found)
    assert fig.layout.title.text and len(fig.data) == 2
    assert fig.data[0].error_y.visible and not fig.data[1].error_y.visible
    assert list(fig.data[1].x) == pytest.approx([10.0, 20.0])


def test_nfe_curve_figure_joins_the_epochs():
    fig = figures.nfe_curve_figure(fake_run("chen_odenet", [0.8, 0.9], nfe=20.0), chunk=100)
    assert list(fig.data[0].y) == [20.0, 21.0, 20.0, 21.0]
    assert list(fig.data[0].x) == pytest.approx([0.25, 0.75, 1.25, 1.75])
