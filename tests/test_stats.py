import itertools
import math

import numpy as np
import pytest
import scipy.stats

from benchmark import stats

from benchmark.stats import (Interval, average_performance_profile, interval_estimates, iqm, mean, median,
                             optimality_gap, performance_profile, probability_of_improvement,
                             probability_of_improvement_ci, stratified_bootstrap_ci, stratified_resample)

# 2 runs x 4 tasks. Pooled and sorted: -4, 0, 1, 2, 3, 5, 6, 20.
SCORES = np.array([[0.0, 20.0, 5.0, -4.0],
                   [2.0, 1.0, 6.0, 3.0]])


def test_mean_median_iqm_by_hand():
    assert mean(SCORES) == pytest.approx(33 / 8)
    # Per-task means 1, 10.5, 5.5, -0.5 -> median (1 + 5.5) / 2; the pooled median would be 2.5.
    assert median(SCORES) == pytest.approx(3.25)
    # Drop the lowest 2 (-4, 0) and highest 2 (6, 20) of the 8: mean of 1, 2, 3, 5.
    assert iqm(SCORES) == pytest.approx(11 / 4)
    # 6 scores: trim_mean drops floor(6 / 4) = 1 at each end, keeping 2, 3, 4, 5 with equal weight.
    assert iqm(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 100.0]])) == pytest.approx(3.5)
    assert iqm(SCORES) == pytest.approx(scipy.stats.trim_mean(SCORES, 0.25, axis=None))
    assert isinstance(iqm(SCORES), float)


def test_aggregates_of_a_stack_match_each_array():
    stack = np.random.default_rng(0).normal(size=(5, 3, 4))
    for statistic in (mean, median, iqm, optimality_gap):
        np.testing.assert_allclose(statistic(stack), [statistic(s) for s in stack])


def test_optimality_gap_by_hand():
    scores = np.array([[0.5, 1.2], [0.9, -0.5]])
    # Shortfalls below 1: 0.5, 0, 0.1, 1.5; below 2: 1.5, 0.8, 1.1, 2.5.
    assert optimality_gap(scores) == pytest.approx(2.1 / 4)
    assert optimality_gap(scores, threshold=2.0) == pytest.approx(5.9 / 4)
    assert optimality_gap(scores) == pytest.approx(1.0 - np.minimum(scores, 1.0).mean())  # rliable's form


def exact_iqm_bootstrap(sample: np.ndarray) -> np.ndarray:
    """IQM of every one of the runs^(runs * tasks) equally likely stratified resamples, sorted."""
    runs, tasks = sample.shape
    values = []
    for picks in itertools.product(itertools.product(range(runs), repeat=runs), repeat=tasks):
        pooled = sorted(sample[i, task] for task, rows in enumerate(picks) for i in rows)
        cut = len(pooled) // 4
        values.append(sum(pooled[cut:len(pooled) - cut]) / (len(pooled) - 2 * cut))
    return np.sort(values)


def exact_quantile(sorted_values: np.ndarray, q: float) -> float:
    """Smallest v with P(V <= v) >= q under the uniform distribution on `sorted_values`."""
    return float(sorted_values[max(math.ceil(q * len(sorted_values)) - 1, 0)])


def test_bootstrap_ci_of_iqm_matches_exact_enumeration():
    # 3 runs x 2 tasks: 27 resamples of each task, 27 * 27 = 729 equally likely stratified resamples.
    # Every A score is below every B score, so a resample's IQM is (a(2) + a(3) + b(1) + b(2)) / 4 for
    # its sorted draws a(1..3) of A and b(1..3) of B; the sample's own IQM is (1 + 2 + 10 + 11) / 4 = 6.
    # By hand: the lowest IQM, 5, needs a(2) = a(3) = 0 (1 of 27) and b(1) = b(2) = 10 (7 of 27): 7/729
    # < 2.5%; IQM 5.25 adds 1 * 9 + 3 * 7 = 30 more, 37/729 > 2.5%. So the 2.5% quantile is 5.25 and,
    # by symmetry, the 97.5% quantile is 6.75.
    sample = np.array([[0.0, 10.0],
                       [1.0, 11.0],
                       [2.0, 12.0]])
    exact = exact_iqm_bootstrap(sample)
    assert len(exact) == 3 ** 6
    reps = 20_000
    ci = stratified_bootstrap_ci(sample, iqm, reps=reps, rng=np.random.default_rng(0))
    assert ci.point == iqm(sample)
    # The empirical CDF of `reps` draws is within 4 standard deviations, 4 sqrt(q (1 - q) / reps)
    # (0.0044 at q = 0.025), of the exact CDF except with probability ~1e-4, so the bootstrap q
    # quantile lies between the exact quantiles at q -/+ that margin. For this sample both ends of
    # that band fall on the same atom of the exact distribution, so the agreement must be exact.
    for q, bound in ((0.025, ci.lower), (0.975, ci.upper)):
        margin = 4 * math.sqrt(q * (1 - q) / reps)
        band = exact_quantile(exact, q - margin), exact_quantile(exact, q + margin)
        assert band[0] == band[1] == exact_quantile(exact, q)
        assert bound == pytest.approx(exact_quantile(exact, q), abs=1e-12)
    assert (ci.point, ci.lower, ci.upper) == pytest.approx((6.0, 5.25, 6.75))


def test_resampling_stays_within_each_task():
    # Task A scores 0, task B 1: every stratified resample pools two 0s and two 1s.
    scores = np.array([[0.0, 1.0], [0.0, 1.0]])
    for statistic in (mean, iqm):
        ci = stratified_bootstrap_ci(scores, statistic, rng=np.random.default_rng(1))
        assert (ci.point, ci.lower, ci.upper) == (0.5, 0.5, 0.5)
    wide = np.array([[0.1, 1000.0], [0.2, 2000.0], [0.3, 3000.0]])
    resamples = stratified_resample(wide, 500, np.random.default_rng(2))
    assert resamples.shape == (500, 3, 2)
    for task in range(2):
        assert set(resamples[:, :, task].ravel()) == set(wide[:, task])


def test_bootstrap_is_deterministic_for_a_seed():
    scores = np.random.default_rng(3).normal(size=(5, 4))
    first = stratified_bootstrap_ci(scores, iqm, reps=500, rng=np.random.default_rng(7))
    assert first == stratified_bootstrap_ci(scores, iqm, reps=500, rng=np.random.default_rng(7))
    assert first != stratified_bootstrap_ci(scores, iqm, reps=500, rng=np.random.default_rng(8))
    assert first.lower <= first.point <= first.upper
    single = stratified_bootstrap_ci(scores, lambda s: float(scipy.stats.trim_mean(s, 0.25, axis=None)), reps=500,
                                     rng=np.random.default_rng(7), batched=False)
    assert (single.point, single.lower, single.upper) == pytest.approx((first.point, first.lower, first.upper))


def test_interval_estimates_per_method():
    scores = {"a": np.zeros((3, 2)), "b": np.ones((4, 2))}
    intervals = interval_estimates(scores, mean, reps=100, rng=np.random.default_rng(0))
    assert intervals == {"a": Interval(0.0, 0.0, 0.0), "b": Interval(1.0, 1.0, 1.0)}


def column(*values: float) -> np.ndarray:
    return np.array(values)[:, None]


def test_probability_of_improvement_by_hand():
    assert probability_of_improvement(column(1, 2, 3), column(0, 0, 0)) == 1.0
    assert probability_of_improvement(column(0, 0, 0), column(1, 2, 3)) == 0.0
    assert probability_of_improvement(column(1, 2, 2), column(1, 2, 2)) == 0.5
    # x = 2, 3, 3 against y = 1, 3: pairs (2,1) 1, (2,3) 0, (3,1) 1, (3,3) 1/2, (3,1) 1, (3,3) 1/2 -> 4/6.
    assert probability_of_improvement(column(2, 3, 3), column(1, 3)) == pytest.approx(2 / 3)
    # Averaged over tasks: that task and one that x always wins -> (2/3 + 1) / 2.
    x = np.array([[2.0, 5.0], [3.0, 6.0], [3.0, 7.0]])
    y = np.array([[1.0, 0.0], [3.0, 1.0]])
    assert probability_of_improvement(x, y) == pytest.approx(5 / 6)


def test_probability_of_improvement_is_mann_whitney_u():
    rng = np.random.default_rng(4)
    x, y = rng.integers(0, 4, size=(5, 3)).astype(float), rng.integers(0, 4, size=(7, 3)).astype(float)
    u = [scipy.stats.mannwhitneyu(x[:, t], y[:, t], alternative="greater").statistic / (5 * 7) for t in range(3)]
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(u))
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1.0)


def test_probability_of_improvement_ci():
    rng = np.random.default_rng(5)
    x, y = rng.normal(1.0, 1.0, size=(6, 3)), rng.normal(size=(4, 3))
    ci = probability_of_improvement_ci(x, y, reps=500, rng=np.random.default_rng(6))
    assert ci.point == probability_of_improvement(x, y)
    assert 0.0 <= ci.lower <= ci.upper <= 1.0
    assert ci == probability_of_improvement_ci(x, y, reps=500, rng=np.random.default_rng(6))
    dominated = probability_of_improvement_ci(x + 100.0, y, reps=200, rng=np.random.default_rng(6))
    assert (dominated.point, dominated.lower, dominated.upper) == (1.0, 1.0, 1.0)


def test_performance_profiles_by_hand():
    scores = np.array([[0.1, 0.6], [0.4, 0.9]])
    taus = [0.0, 0.25, 0.4, 0.5, 0.75, 1.0]
    # Scores strictly above each tau, out of 4: all; 0.4 0.6 0.9; 0.6 0.9 (0.4 is not > 0.4); 0.6 0.9; 0.9; none.
    np.testing.assert_allclose(performance_profile(scores, taus), [1.0, 0.75, 0.5, 0.5, 0.25, 0.0])
    # Task means 0.25 and 0.75, strictly above each tau, out of 2 tasks.
    np.testing.assert_allclose(average_performance_profile(scores, taus), [1.0, 0.5, 0.5, 0.5, 0.0, 0.0])


def test_performance_profile_is_non_increasing_and_bootstraps():
    scores = np.random.default_rng(9).normal(size=(5, 6))
    taus = np.linspace(-3.0, 3.0, 41)
    for profile in (performance_profile, average_performance_profile):
        values = profile(scores, taus)
        assert values.shape == (41,) and values[0] == 1.0 and values[-1] == 0.0
        assert np.all(np.diff(values) <= 0.0)
    ci = stratified_bootstrap_ci(scores, lambda s: performance_profile(s, taus), reps=300,
                                 rng=np.random.default_rng(10))
    assert ci.lower.shape == ci.upper.shape == (41,)
    assert np.all(ci.lower <= ci.upper)
    np.testing.assert_allclose(ci.point, performance_profile(scores, taus))


def test_bad_input_is_rejected():
    rng = np.random.default_rng(0)
    ok = np.ones((3, 2))
    for bad in (np.empty((0, 2)), np.empty((3, 0)), np.ones(3), np.array([[1.0, np.nan]])):
        with pytest.raises(ValueError, match="scores"):
            iqm(bad)
        with pytest.raises(ValueError, match="scores"):
            stratified_bootstrap_ci(bad, iqm, rng=rng)
    with pytest.raises(ValueError, match="same number of tasks"):
        probability_of_improvement(ok, np.ones((3, 3)))
    with pytest.raises(ValueError, match="same number of tasks"):
        probability_of_improvement_ci(ok, np.ones((3, 3)), rng=rng)
    for confidence in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="confidence"):
            stratified_bootstrap_ci(ok, iqm, confidence=confidence, rng=rng)
        with pytest.raises(ValueError, match="confidence"):
            probability_of_improvement_ci(ok, ok, confidence=confidence, rng=rng)
    with pytest.raises(ValueError, match="reps"):
        stratified_bootstrap_ci(ok, iqm, reps=0, rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        stratified_bootstrap_ci(ok, iqm, rng=0)
    with pytest.raises(ValueError, match="taus"):
        performance_profile(ok, [[0.5]])
    with pytest.raises(ValueError, match="batched=False"):
        stratified_bootstrap_ci(ok, lambda s: float(np.mean(s)), rng=rng)


def test_the_fast_profile_band_equals_the_direct_bootstrap():
    scores = np.random.default_rng(4).normal(size=(9, 3)).round(1)  # ties with the taus included
    taus = np.linspace(-2, 2, 41)
    fast = stats.performance_profile_ci(scores, taus, reps=300, rng=np.random.default_rng(5))
    direct = stats.stratified_bootstrap_ci(scores, lambda s: stats.performance_profile(s, taus), reps=300,
                                           rng=np.random.default_rng(5))
    for a, b in ((fast.point, direct.point), (fast.lower, direct.lower), (fast.upper, direct.upper)):
        np.testing.assert_array_equal(a, b)


def test_numpy_iqm_and_ranks_equal_scipys():
    rng = np.random.default_rng(11)
    for shape in [(5, 3), (4, 7, 2), (1, 1), (3, 1, 4, 2)]:
        ties = rng.integers(0, 3, size=shape).astype(float)
        np.testing.assert_array_equal(stats.average_ranks(ties), scipy.stats.rankdata(ties, axis=-2))
        a = rng.normal(size=shape)
        if a.ndim >= 2:
            expected = scipy.stats.trim_mean(a.reshape(*a.shape[:-2], -1), 0.25, axis=-1)
            np.testing.assert_allclose(iqm(a), expected, rtol=1e-12)


@pytest.mark.parametrize("statistic", [mean, iqm])
def test_counts_give_the_intervals_of_the_resamples_they_count(statistic):
    # mean and IQM are computed from how often each run is drawn; the same draws, resampled and
    # handed to the statistic (a lambda is not recognised, so it takes that path), agree.
    rng = np.random.default_rng(12)
    scores = {"a": rng.normal(size=(9, 3)).round(1), "b": rng.normal(size=(9, 3)), "c": rng.normal(size=(5, 2))}
    by_counts = interval_estimates(scores, statistic, reps=300, rng=np.random.default_rng(13))
    by_resamples = interval_estimates(scores, lambda s: statistic(s), reps=300, rng=np.random.default_rng(13))
    for name in scores:
        for got, expected in zip(vars(by_counts[name]).values(), vars(by_resamples[name]).values()):
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_methods_of_one_shape_share_draws_and_blocks_do_not_change_them(monkeypatch):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(20, 4))
    both = interval_estimates({"a": x, "twin": x.copy(), "other": rng.normal(size=(7, 4))}, iqm, reps=400,
                              rng=np.random.default_rng(15))
    assert both["a"] == both["twin"]
    alone = stratified_bootstrap_ci(x, iqm, reps=400, rng=np.random.default_rng(15))
    assert alone == both["a"]  # the first shape draws first, as it would alone
    monkeypatch.setattr(stats, "BLOCK_ELEMENTS", 7 * 20 * 4)  # 7 resamples per block instead of all 400
    blocked = stratified_bootstrap_ci(x, iqm, reps=400, rng=np.random.default_rng(15))
    assert (blocked.point, blocked.lower, blocked.upper) == pytest.approx((alone.point, alone.lower, alone.upper),
                                                                          rel=1e-12)
