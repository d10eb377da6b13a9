"""The detector's statistics (semcom_phy.detect.scores): the Mann-Whitney AUC on known cases
(ties counted half), the ROC whose area it is, the threshold that realises a false-alarm rate on
its calibration scores, and the calibration's combined score and flags."""

import numpy as np
import pytest
import torch

from semcom_phy.detect.scores import Calibration, auc, roc_curve, threshold


def test_auc_known_cases():
    assert auc([0, 1, 2], [3, 4, 5]) == 1.0                 # perfect separation
    assert auc([3, 4, 5], [0, 1, 2]) == 0.0
    assert auc([1, 2, 3], [1, 2, 3]) == 0.5                 # identical samples
    assert auc([1, 1, 1, 1], [1, 1]) == 0.5                 # all tied
    assert auc([0, 1], [1, 2]) == pytest.approx(0.875)      # pairs: 1 tie (1/2) of 4, the rest above: 3.5 / 4
    assert auc([0.0], [0.0, 1.0, -1.0]) == pytest.approx(0.5)


def test_auc_is_the_probability_of_a_higher_attacked_score():
    rng = np.random.default_rng(0)
    c, a = rng.integers(0, 5, 40), rng.integers(1, 6, 30)     # many ties
    brute = np.mean([(ai > ci) + 0.5 * (ai == ci) for ai in a for ci in c])
    assert auc(c, a) == pytest.approx(brute, abs=1e-12)


def test_roc_runs_from_0_to_1_and_its_area_is_the_auc():
    rng = np.random.default_rng(1)
    c, a = rng.normal(0, 1, 50).round(1), rng.normal(1, 1, 70).round(1)
    fpr, tpr = roc_curve(c, a)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc(c, a), abs=1e-12)


def test_auc_refuses_empty_or_nan_scores():
    with pytest.raises(ValueError, match="attacked: 0 values"):
        auc([1.0], [])
    with pytest.raises(ValueError, match="clean"):
        auc([np.nan], [1.0])


@pytest.mark.parametrize("n, alpha", [(256, 0.05), (100, 0.05), (37, 0.1), (1000, 0.01)])
def test_the_threshold_realises_the_false_alarm_rate_on_its_calibration(n, alpha):
    cal = np.random.default_rng(n).normal(size=n)
    t = threshold(cal, alpha)
    realised = np.mean(cal > t)
    assert realised <= alpha and realised > alpha - 1.0 / n          # floor(alpha n) of n without ties
    # on fresh draws of the same distribution it holds on average (the scored split's check)
    fresh = np.random.default_rng(n + 1).normal(size=200_000)
    assert abs(np.mean(fresh > t) - alpha) < 4 * np.sqrt(alpha / n) + 0.01


def test_the_threshold_with_ties_never_exceeds_the_rate():
    cal = np.array([0.0] * 90 + [1.0] * 10)
    assert np.mean(cal > threshold(cal, 0.05)) <= 0.05
    with pytest.raises(ValueError, match="false_alarm"):
        threshold(cal, 0.0)


def test_calibration_combined_is_one_at_each_threshold_and_flags_any_alarm():
    rng = np.random.default_rng(2)
    scores = {"a": rng.normal(1, 0.1, 400), "b": rng.exponential(1.0, 400)}
    cal = Calibration.fit(scores, 0.05)
    assert set(cal.thresholds) == {"a", "b", "combined"}
    for k in ("a", "b"):
        probe = {"a": np.array([cal.medians["a"]]), "b": np.array([cal.medians["b"]])}
        probe[k] = np.array([cal.thresholds[k]])
        assert cal.combined(probe)[0] == pytest.approx(1.0)
    flags = cal.flags(scores)
    assert all(np.mean(f) <= 0.05 for f in flags.values())
    assert np.mean(flags["combined"]) > 0.0
    big = {"a": np.array([10.0]), "b": np.array([cal.medians["b"]])}
    assert cal.flags(big)["combined"][0] and cal.flags(big)["a"][0] and not cal.flags(big)["b"][0]
    # torch in, torch out with gradients (the adaptive attacker's objective)
    t = {k: torch.tensor(v[:5], requires_grad=True) for k, v in scores.items()}
    out = cal.combined(t)
    out.sum().backward()
    assert out.shape == (5,) and t["a"].grad is not None
    assert Calibration.from_dict(cal.to_dict()) == cal
