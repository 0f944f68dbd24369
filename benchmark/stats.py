"""Aggregate statistics across runs and tasks, after Agarwal et al. 2021 ("Deep RL at the Edge of
the Statistical Precipice") and their library rliable, whose definitions these follow. rliable
does not import with pandas 3, so this is a reimplementation; with numpy only, as importing
scipy.stats takes longer than a whole report's tables (the tests check it against scipy).

One method's scores are a NaN-free (runs, tasks) array, normalised so that tasks are comparable;
several methods are a dict name -> array. Every aggregate also accepts a stack (..., runs, tasks)
and returns one value per stacked array, so a bootstrap evaluates all its resamples in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

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
    equal weight (no fractional weights: n = 6 keeps the middle 4). Written with numpy, as
    importing scipy.stats takes longer than a report's tables."""
    a = _scores(scores)
    pooled = np.sort(a.reshape(*a.shape[:-2], -1), axis=-1)
    cut = int(0.25 * pooled.shape[-1])
    return _value(pooled[..., cut:pooled.shape[-1] - cut].mean(axis=-1))


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
    u = average_ranks(both)[..., :n_x, :].sum(axis=-2) - n_x * (n_x + 1) / 2.0
    return _value((u / (n_x * n_y)).mean(axis=-1))


def average_ranks(a: Array) -> Array:
    """Ranks 1..n along axis -2, tied values sharing their average rank: scipy.stats.rankdata(a,
    axis=-2), written with numpy because importing scipy.stats takes longer than a report's tables."""
    order = np.argsort(a, axis=-2, kind="stable")
    ordered = np.take_along_axis(a, order, axis=-2)
    n = a.shape[-2]
    position = np.arange(n).reshape(n, 1)
    starts = np.ones(ordered.shape, dtype=bool)  # where a run of equal values starts, and ends
    starts[..., 1:, :] = ordered[..., 1:, :] != ordered[..., :-1, :]
    ends = np.ones(ordered.shape, dtype=bool)
    ends[..., :-1, :] = starts[..., 1:, :]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=-2)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, position, n), axis=-2), axis=-2), axis=-2)
    ranks = np.empty(a.shape)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=-2)
    return ranks


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


BLOCK_ELEMENTS = 1 << 17  # resampled scores per block of a bootstrap: a block's passes stay in cache


def _draws(runs: int, tasks: int, reps: int, rng: np.random.Generator) -> Array:
    """(reps, runs, tasks) run indices, drawn with replacement independently within each task."""
    return rng.integers(0, runs, size=(reps, runs, tasks), dtype=np.int32 if runs < 2**31 else np.int64)


def _gather(scores: Array, draws: Array) -> Array:
    """The resampled scores (reps, runs, tasks) that `draws` pick from the (runs, tasks) `scores`."""
    runs, tasks = scores.shape
    flat = np.ascontiguousarray(scores.T).ravel()  # task-major, so one flat gather serves every task
    return flat[draws + np.arange(0, runs * tasks, runs)]


def _counts(draws: Array, runs: int) -> Array:
    """(reps, tasks, runs) counts: how often each run of each task is drawn in each resample, in the
    smallest integer type that holds them (the passes over them are what a bootstrap costs)."""
    reps, _, tasks = draws.shape
    rows = (np.arange(reps)[:, None, None] * tasks + np.arange(tasks)) * runs  # one bin row per (rep, task)
    counts = np.bincount((draws + rows).ravel(), minlength=reps * tasks * runs)
    return counts.reshape(reps, tasks, runs).astype(np.int16 if runs <= np.iinfo(np.int16).max else np.int32)


def stratified_resample(scores: Array, reps: int, rng: np.random.Generator) -> Array:
    """(reps, runs, tasks): each resample draws `runs` runs with replacement, independently within
    each task (column), so a task's scores only ever come from that task."""
    runs, tasks = scores.shape
    return _gather(np.asarray(scores, dtype=float), _draws(runs, tasks, reps, rng))


# Statistics of resamples given as counts (reps, tasks, runs) of a (runs, tasks) sample: no resample
# is built or sorted; the sample is sorted once. Each maps the sample to a function of a block of
# counts giving the statistic of every resample in it (up to floating-point summation order).
Estimator = Callable[[Array], Callable[[Array], Array]]


def _mean_of_counts(scores: Array) -> Callable[[Array], Array]:
    pooled = scores.T.ravel()  # task-major, as the counts
    return lambda counts: counts.reshape(len(counts), -1) @ pooled / pooled.size


def _trimmed_mean_of_counts(values: Array, cut: float) -> Callable[[Array], Array]:
    """scipy.stats.trim_mean(resample, cut) of resamples of `values` (n,), from their counts (reps, n).

    In sorted order, the value v_j drawn c_j times fills the resample's positions [e_(j-1), e_j) with
    e_j = c_1 + ... + c_j; trimming keeps positions [low, high), low = floor(cut n), high = n - low,
    so v_j keeps E_j - E_(j-1) of them, E = clip(e, low, high). Summed by parts, the kept total is
    high v_n - low v_1 - sum_(j<n) E_j (v_(j+1) - v_j): one cumulative sum and one product per block."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    steps = np.diff(ordered)
    low = int(cut * len(values))
    high = len(values) - low

    def estimates(counts: Array) -> Array:
        ends = np.cumsum(counts[:, order], axis=1, dtype=np.int64 if len(values) > 2**31 - 1 else np.int32)
        np.clip(ends, low, high, out=ends)
        return (high * ordered[-1] - low * ordered[0] - ends[:, :-1] @ steps) / (high - low)

    return estimates


def _iqm_of_counts(scores: Array) -> Callable[[Array], Array]:
    trimmed = _trimmed_mean_of_counts(scores.T.ravel(), 0.25)
    return lambda counts: trimmed(counts.reshape(len(counts), -1))


OF_COUNTS: dict[Statistic, Estimator] = {mean: _mean_of_counts, iqm: _iqm_of_counts}


def _block_sizes(reps: int, elements: int) -> list[int]:
    """Resamples per block, so that a block holds about BLOCK_ELEMENTS resampled scores."""
    block = max(1, BLOCK_ELEMENTS // elements)
    return [min(block, reps - start) for start in range(0, reps, block)]


def _bootstrap_estimates(score_dict: Mapping[str, Array], estimator: Estimator, reps: int,
                         rng: np.random.Generator, counts: bool) -> dict[str, Array]:
    """estimator(scores)(resamples) over `reps` stratified resamples of each (runs, tasks) array, the
    resamples given in blocks, as counts (`counts`) or as draws. Arrays of one shape share their draws (common
    random numbers): each interval is a bootstrap interval on its own, and two methods' intervals
    differ through their scores only, not through Monte Carlo noise. Shapes draw from `rng` in
    first-seen order, so the estimates depend on the arrays and the state of `rng` only."""
    groups: dict[tuple[int, int], list[str]] = {}
    for name, scores in score_dict.items():
        groups.setdefault(scores.shape, []).append(name)
    parts: dict[str, list[Array]] = {name: [] for name in score_dict}
    estimates = {name: estimator(scores) for name, scores in score_dict.items()}
    for (runs, tasks), names in groups.items():
        for size in _block_sizes(reps, runs * tasks):
            draws = _draws(runs, tasks, size, rng)
            resamples = _counts(draws, runs) if counts else draws
            for name in names:
                part = np.asarray(estimates[name](resamples))
                if part.shape[:1] != (size,):
                    raise ValueError(f"a batched statistic must return (reps, ...) = ({size}, ...), got shape "
                                     f"{part.shape}; pass batched=False for a statistic of a single (runs, tasks) "
                                     "array")
                parts[name].append(part)
    return {name: np.concatenate(blocks) for name, blocks in parts.items()}


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


def _runs_by_tasks(score_dict: Mapping[str, Array]) -> dict[str, Array]:
    checked = {name: _scores(scores, f"scores of {name!r}" if name else "scores") for name, scores in score_dict.items()}
    for name, a in checked.items():
        if a.ndim != 2:
            raise ValueError(f"scores must be a (runs, tasks) array, got shape {a.shape}")
    return checked


def _intervals(score_dict: Mapping[str, Array], point: Statistic, estimator: Estimator, *, counts: bool, reps: int,
               confidence: float, rng: np.random.Generator) -> dict[str, Interval]:
    """point(scores) of each (runs, tasks) array with the percentile interval of its bootstrap
    estimates (_bootstrap_estimates with `estimator`)."""
    checked = _runs_by_tasks(score_dict)
    _check_bootstrap(reps, confidence, rng)
    estimates = _bootstrap_estimates(checked, estimator, reps, rng, counts=counts)
    return {name: _percentile_interval(point(a), estimates[name], confidence) for name, a in checked.items()}


def interval_estimates(score_dict: Mapping[str, Array], statistic: Statistic, *, reps: int = 2000,
                       confidence: float = 0.95, rng: np.random.Generator) -> dict[str, Interval]:
    """`statistic` of each method's (runs, tasks) scores with its percentile stratified-bootstrap
    interval: each of `reps` resamples redraws the runs with replacement within every task (rliable's
    default, without task bootstrap); the point estimate is `statistic(scores)`. `statistic` gets a
    batch of resamples (reps, runs, tasks) and returns (reps,) or (reps, k), as every aggregate here
    does; mean and IQM are computed from how often each run is drawn instead (OF_COUNTS), the same
    values without building the resamples. Methods with the same number of runs and tasks share
    their resampling draws (see _bootstrap_estimates). Deterministic for a given state of `rng`."""
    of_counts = OF_COUNTS.get(statistic)
    if of_counts is not None:
        return _intervals(score_dict, statistic, of_counts, counts=True, reps=reps, confidence=confidence, rng=rng)
    return _intervals(score_dict, statistic, lambda scores: lambda draws: statistic(_gather(scores, draws)),
                      counts=False, reps=reps, confidence=confidence, rng=rng)


def stratified_bootstrap_ci(scores: Array, statistic: Statistic, *, reps: int = 2000, confidence: float = 0.95,
                            rng: np.random.Generator, batched: bool = True) -> Interval:
    """interval_estimates of one (runs, tasks) array. Without `batched`, `statistic` is called on
    each resample (runs, tasks) on its own, from the same draws."""
    if batched:
        return interval_estimates({"": scores}, statistic, reps=reps, confidence=confidence, rng=rng)[""]
    one_by_one = lambda scores: lambda draws: np.stack([np.asarray(statistic(r)) for r in _gather(scores, draws)])
    return _intervals({"": scores}, statistic, one_by_one, counts=False, reps=reps, confidence=confidence, rng=rng)[""]


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


def performance_profile_intervals(score_dict: Mapping[str, Array], taus: Array, *, reps: int = 2000,
                                  confidence: float = 0.95, rng: np.random.Generator) -> dict[str, Interval]:
    """performance_profile(scores, taus) of each method with its stratified-bootstrap band, from counts:
    each score is replaced once by the number of taus below it (its bin), so a resample's profile is
    the histogram of its bins weighted by the counts, summed from the top. The same draws give the same band as
    interval_estimates with performance_profile, bit for bit (both divide whole numbers by runs x tasks)."""
    t = _taus(taus)
    if np.any(np.diff(t) < 0):
        raise ValueError("taus must be sorted")
    k = len(t)

    def profile_of_counts(scores: Array) -> Callable[[Array], Array]:
        bins = np.searchsorted(t, scores.T.ravel(), side="left")  # score > taus[j] exactly when j < bins
        rows: dict[int, Array] = {}  # per block size: each (resample, bin) pair's slot of the histogram

        def estimates(counts: Array) -> Array:
            b = len(counts)
            if b not in rows:
                rows[b] = (np.arange(b)[:, None] * (k + 1) + bins).ravel()
            per_bin = np.bincount(rows[b], weights=counts.ravel(), minlength=b * (k + 1)).reshape(b, k + 1)
            return per_bin[:, ::-1].cumsum(axis=1)[:, ::-1][:, 1:] / scores.size  # drawn with bins > j

        return estimates

    return _intervals(score_dict, lambda scores: performance_profile(scores, t), profile_of_counts, counts=True,
                      reps=reps, confidence=confidence, rng=rng)


def performance_profile_ci(scores: Array, taus: Array, *, reps: int = 2000, confidence: float = 0.95,
                           rng: np.random.Generator) -> Interval:
    """performance_profile_intervals of one (runs, tasks) array."""
    return performance_profile_intervals({"": scores}, taus, reps=reps, confidence=confidence, rng=rng)[""]
