"""Aggregate statistics across runs and tasks, after Agarwal et al. 2021 ("Deep RL at the Edge of
the Statistical Precipice") and their library rliable, whose definitions these follow. rliable
does not import with pandas 3, so this is a numpy/scipy reimplementation.

One method's scores are a NaN-free (runs, tasks) array, normalised so that tasks are comparable;
several methods are a dict name -> array. Every aggregate also accepts a stack (..., runs, tasks)
and returns one value per stacked array, so a bootstrap evaluates all its resamples in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import scipy.stats

Array = np.ndarray
Value = float | Array
# Maps scores (..., runs, tasks) to (...) for a scalar statistic or (..., k) for a vector one.
Statistic = Callable[[Array], Value]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its percentile bootstrap confidence interval (arrays for a vector statistic)."""

    point: Value
    lower: Value
    upper: Value


def _scores(scores: Array, name: str = "scores") -> Array:
    """`scores` as a float array (..., runs, tasks) with at least one run and one task, NaN-free."""
    a = np.asarray(scores, dtype=float)
    if a.ndim < 2 or a.shape[-2] == 0 or a.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty (runs, tasks) array, got shape {a.shape}")
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    return a


def _value(x: Array | float) -> Value:
    """A plain float for a 0-d result, the array otherwise."""
    return float(x) if np.ndim(x) == 0 else np.asarray(x)


def mean(scores: Array) -> Value:
    """Mean over all runs and tasks (= rliable's mean of the per-task mean scores)."""
    return _value(_scores(scores).mean(axis=(-2, -1)))


def median(scores: Array) -> Value:
    """rliable's median: the median over tasks of the per-task mean scores (not the pooled median)."""
    return _value(np.median(_scores(scores).mean(axis=-2), axis=-1))


def iqm(scores: Array) -> Value:
    """Interquartile mean of all runs x tasks pooled: scipy.stats.trim_mean(x, 0.25), as rliable.

    Of the n pooled scores, sorted, floor(n / 4) are dropped at each end and the rest averaged with
    equal weight (no fractional weights: n = 6 keeps the middle 4)."""
    a = _scores(scores)
    return _value(scipy.stats.trim_mean(a.reshape(*a.shape[:-2], -1), 0.25, axis=-1))


def optimality_gap(scores: Array, threshold: float = 1.0) -> Value:
    """Mean over all runs and tasks of max(threshold - x, 0): how far scores fall short of `threshold`."""
    return _value(np.maximum(threshold - _scores(scores), 0.0).mean(axis=(-2, -1)))


def probability_of_improvement(x: Array, y: Array) -> Value:
    """P(X > Y) + P(X = Y) / 2 per task, averaged over tasks (rliable's average probability of improvement).

    Per task this is the Mann-Whitney U statistic of x over y divided by n_x * n_y, i.e. the fraction
    of (run of x, run of y) pairs that x wins, ties counting 1/2. x is (..., n_x, tasks), y is
    (..., n_y, tasks); run counts may differ. Computed from ranks in O((n_x + n_y) log(n_x + n_y))."""
    x, y = _scores(x, "x"), _scores(y, "y")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y must have the same number of tasks, got {x.shape[-1]} and {y.shape[-1]}")
    # Mann-Whitney through ranks, O(n log n): U_x = (sum of x's average ranks in x + y) - n_x (n_x + 1) / 2
    n_x, n_y = x.shape[-2], y.shape[-2]
    lead = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    both = np.concatenate([np.broadcast_to(x, lead + x.shape[-2:]), np.broadcast_to(y, lead + y.shape[-2:])], axis=-2)
    u = scipy.stats.rankdata(both, axis=-2)[..., :n_x, :].sum(axis=-2) - n_x * (n_x + 1) / 2.0
    return _value((u / (n_x * n_y)).mean(axis=-1))


def _taus(taus: Array) -> Array:
    t = np.asarray(taus, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"taus must be a 1-d array of thresholds, got shape {t.shape}")
    return t


def performance_profile(scores: Array, taus: Array) -> Array:
    """rliable's score distribution (its default profile): for each tau, the fraction of all
    runs x tasks with score > tau (strictly). Returns (..., len(taus)), non-increasing in tau."""
    return (_scores(scores)[..., None] > _taus(taus)).mean(axis=(-3, -2))


def average_performance_profile(scores: Array, taus: Array) -> Array:
    """rliable's average score distribution: for each tau, the fraction of tasks whose mean score
    over runs is > tau (strictly). Returns (..., len(taus))."""
    return (_scores(scores).mean(axis=-2)[..., None] > _taus(taus)).mean(axis=-2)


BLOCK_ELEMENTS = 1 << 20  # resampled scores per block of a batched bootstrap


def stratified_resample(scores: Array, reps: int, rng: np.random.Generator) -> Array:
    """(reps, runs, tasks): each resample draws `runs` runs with replacement, independently within
    each task (column), so a task's scores only ever come from that task."""
    runs, tasks = scores.shape
    flat = np.ascontiguousarray(scores.T).ravel()  # task-major, so one flat gather serves every task
    return flat[rng.integers(0, runs, size=(reps, runs, tasks)) + np.arange(0, runs * tasks, runs)]


def _check_bootstrap(reps: int, confidence: float, rng: np.random.Generator) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if reps < 1:
        raise ValueError(f"reps must be positive, got {reps}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def _percentile_interval(point: Value, estimates: Array, confidence: float) -> Interval:
    """The (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the bootstrap estimates (numpy's
    default linear interpolation), as rliable's percentile method."""
    lower, upper = np.quantile(estimates, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0], axis=0)
    return Interval(_value(point), _value(lower), _value(upper))


def stratified_bootstrap_ci(scores: Array, statistic: Statistic, *, reps: int = 2000, confidence: float = 0.95,
                            rng: np.random.Generator, batched: bool = True) -> Interval:
    """`statistic` of the (runs, tasks) `scores`, with its percentile stratified-bootstrap interval.

    Each of `reps` resamples redraws the runs with replacement within every task (stratified
    bootstrap, rliable's default without task bootstrap). The point estimate is `statistic(scores)`.
    With `batched`, `statistic` gets all resamples at once as (reps, runs, tasks) and must return
    (reps,) or (reps, k), as every aggregate here does; otherwise it is called per resample.
    Deterministic for a given state of `rng`; holds reps * runs * tasks floats in memory."""
    a = _scores(scores)
    if a.ndim != 2:
        raise ValueError(f"scores must be a (runs, tasks) array, got shape {a.shape}")
    _check_bootstrap(reps, confidence, rng)
    if batched:  # blocks of resamples that stay in cache: the same draws, in the same order, as one big block
        block = max(1, BLOCK_ELEMENTS // a.size)
        parts = []
        for start in range(0, reps, block):
            size = min(block, reps - start)
            part = np.asarray(statistic(stratified_resample(a, size, rng)))
            if part.shape[:1] != (size,):
                raise ValueError(f"a batched statistic must return (reps, ...) = ({size}, ...), got shape "
                                 f"{part.shape}; pass batched=False for a statistic of a single (runs, tasks) array")
            parts.append(part)
        estimates = np.concatenate(parts)
    else:
        estimates = np.stack([np.asarray(statistic(s)) for s in stratified_resample(a, reps, rng)])
    return _percentile_interval(statistic(a), estimates, confidence)


def probability_of_improvement_ci(x: Array, y: Array, *, reps: int = 2000, confidence: float = 0.95,
                                  rng: np.random.Generator) -> Interval:
    """probability_of_improvement(x, y) with its percentile interval; x and y are resampled
    independently, each stratified by task (rliable's StratifiedIndependentBootstrap)."""
    point = probability_of_improvement(x, y)  # validates x and y
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"x and y must be (runs, tasks) arrays, got shapes {x.shape} and {y.shape}")
    _check_bootstrap(reps, confidence, rng)
    estimates = probability_of_improvement(stratified_resample(x, reps, rng), stratified_resample(y, reps, rng))
    return _percentile_interval(point, estimates, confidence)


def interval_estimates(score_dict: Mapping[str, Array], statistic: Statistic, *, reps: int = 2000,
                       confidence: float = 0.95, rng: np.random.Generator) -> dict[str, Interval]:
    """stratified_bootstrap_ci for each method, drawing from `rng` in the dict's order."""
    return {name: stratified_bootstrap_ci(scores, statistic, reps=reps, confidence=confidence, rng=rng)
            for name, scores in score_dict.items()}


def performance_profile_ci(scores: Array, taus: Array, *, reps: int = 2000, confidence: float = 0.95,
                           rng: np.random.Generator) -> Interval:
    """performance_profile(scores, taus) with its stratified-bootstrap band, in O(reps x runs x tasks):
    each score is replaced once by the number of taus below it, so a resample's profile is a
    histogram of those counts rather than a comparison with every tau. The same draws from `rng`
    give the same interval as stratified_bootstrap_ci with performance_profile."""
    t = _taus(taus)
    if np.any(np.diff(t) < 0):
        raise ValueError("taus must be sorted")
    bins = np.searchsorted(t, _scores(scores), side="left")  # score > taus[k] exactly when k < bins
    k = len(t)

    def profile(b: Array) -> Array:
        batch = b.reshape(-1, b.shape[-2] * b.shape[-1]).astype(np.int64)  # the bootstrap hands floats
        counts = np.bincount((batch + (k + 1) * np.arange(len(batch))[:, None]).ravel(),
                             minlength=len(batch) * (k + 1)).reshape(len(batch), k + 1)
        above = counts[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:] / batch.shape[1]  # samples with bins > k
        return above.reshape(*b.shape[:-2], k)

    return stratified_bootstrap_ci(bins, profile, reps=reps, confidence=confidence, rng=rng)
