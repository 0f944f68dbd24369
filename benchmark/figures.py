"""The report's figures, drawn with seaborn on matplotlib Figure objects (no pyplot state):

- score_intervals: each method's normalized score per observation source and aggregated, with
  95% stratified-bootstrap intervals (rliable's interval estimates);
- improvement_matrix: probability of improvement P(row > column) between methods;
- performance_profiles: the fraction of runs scoring above tau, with bootstrap bands;
- learning_curves: the learner's observed scores, then the observer's as it learns on the
  recovered reward (LfL paper, Fig. 4);
- reward_heatmaps: the true reward and recovered ones on the grid (LfL paper, Fig. 3).

Everything drawn comes from the records: the observation source (normalization) from their
`source`, the learners' order from the store's, the true reward and the grid from the tabular
records' artifacts (`true_reward`, `grid_shape`). Reference rows (report.REFERENCE_ROWS) are drawn
after the methods, in grey, dashed where lines, and left out of the method comparisons.

jobs_for_layout lists the figures a suite's layout shows as FigureJobs, which the report runs in
forked processes (benchmark/forked.py); render turns a drawn figure into its PNG and PDF bytes.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import cm, colors  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from benchmark import stats  # noqa: E402
from benchmark.normalization import expert_normalized, lfl_normalized  # noqa: E402
from benchmark.report import (NORMALIZATION_TEXT, NORMALIZED, aggregate_intervals, base_method,  # noqa: E402
                              task_panel, aggregate_statistic, is_reference, learner_order, learner_sources, methods_first,
                              row_label, run_matrix, values_of, with_board_columns, with_sources)
from benchmark.store import artifact_matrix, artifact_values, has_artifact  # noqa: E402
from benchmark.tables import Figure  # noqa: E402

STYLE = {"style": "whitegrid", "context": "paper"}
LEARNER_COLOUR, OBSERVER_PALETTE = "#c0392b", "tab10"
REFERENCE_COLOURS = {"oracle": "0.2", "bc": "0.55"}


def styled(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A Figure and its axes in the report's seaborn style."""
    with sns.axes_style(STYLE["style"]), sns.plotting_context(STYLE["context"]):
        fig = MplFigure(figsize=(width, height))
        axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def palette(names: list[str]) -> dict[str, tuple]:
    """A distinct colour per method, however many; reference rows grey, the methods' colours as if
    they were not there. Up to nine methods tab10 (less its red, the learner's); more, evenly spaced
    hues (husl) at two lightnesses, so that no two methods share a colour."""
    methods = [n for n in names if not is_reference([n])[0]]
    base = [c for i, c in enumerate(sns.color_palette(OBSERVER_PALETTE, 10)) if i != 3]
    if len(methods) > len(base):
        half = -(-len(methods) // 2)
        base = [c for pair in zip(sns.husl_palette(half, l=0.5), sns.husl_palette(half, l=0.72, h=0.5 / half))
                for c in pair][:len(methods)]
    colours = dict(zip(methods, base))
    return {n: colours[n] if n in colours else REFERENCE_COLOURS.get(base_method(n), "0.4") for n in names}


PNG_DPI = 130


def render(figure: MplFigure) -> tuple[bytes, bytes]:
    """The figure's PNG and PDF (no creation date, so an unchanged figure gives the same file), both
    cropped to the figure's tight bounding box. The PNG is drawn once, whole, and cropped to that
    box, measured on that drawing (savefig's bbox_inches="tight" would lay the figure out once
    more); a figure with text beyond its own edges is drawn again, into the larger box."""
    canvas = FigureCanvasAgg(figure)
    figure.set_dpi(PNG_DPI)
    canvas.draw()
    tight = figure.get_tightbbox(canvas.get_renderer())
    whole = figure.bbox_inches
    box = Bbox.intersection(tight.padded(matplotlib.rcParams["savefig.pad_inches"]), whole)
    png = io.BytesIO()
    edges = whole.padded(0.5 / PNG_DPI)  # within half a pixel of the figure's edges
    if edges.contains(tight.x0, tight.y0) and edges.contains(tight.x1, tight.y1):
        pixels = np.asarray(canvas.buffer_rgba())
        height = pixels.shape[0]
        rows = slice(max(0, height - round(box.y1 * PNG_DPI)), height - round(box.y0 * PNG_DPI))
        columns = slice(round(box.x0 * PNG_DPI), round(box.x1 * PNG_DPI))
        PIL.Image.fromarray(pixels[rows, columns]).save(png, format="png", dpi=(PNG_DPI, PNG_DPI))
    else:
        box = tight.padded(matplotlib.rcParams["savefig.pad_inches"])
        figure.savefig(png, format="png", dpi=PNG_DPI, bbox_inches=box)
    pdf = io.BytesIO()
    figure.savefig(pdf, format="pdf", bbox_inches=box, metadata={"CreationDate": None})
    return png.getvalue(), pdf.getvalue()


def rendered(name: str, caption: str, figure: MplFigure) -> Figure:
    png, pdf = render(figure)
    return Figure(name, caption, png, pdf)


# ----- inputs -----------------------------------------------------------------------------------

def method_scores(df: pd.DataFrame, tasks: list[str]) -> dict[str, np.ndarray]:
    """method -> (runs, tasks) values, runs aligned by seed, seeds without every task dropped;
    the methods sorted, then the reference rows."""
    if not tasks:
        return {}
    parts = dict(tuple(df.groupby("method", sort=True)))
    matrices = {method: run_matrix(parts[method], tasks) for method in methods_first(parts)}
    return {method: scores for method, scores in matrices.items() if len(scores)}


def common_tasks(df: pd.DataFrame, order: list[str]) -> list[str]:
    """Observation sources on which every method has values (cross-method statistics need them);
    reference rows are not methods here (one the oracle cannot fill still compares the methods)."""
    methods = df[~is_reference(df.method)] if not is_reference(df.method).all() else df
    have = methods.dropna(subset=["value"]).groupby("learner").method.nunique()
    n_methods = methods.method.nunique()
    return [t for t in order if have.get(t, 0) == n_methods]


# ----- figures ----------------------------------------------------------------------------------

def score_intervals(df: pd.DataFrame, tasks: list[str], options, xlabel: str) -> MplFigure:
    """One panel per observation source and one for the aggregate: each method's point estimate
    (mean or IQM) with its 95% bootstrap interval (the aggregate's are the leaderboard table's)."""
    statistic = aggregate_statistic(options.aggregate)
    methods = methods_first(df.method)
    colours = palette(methods)
    panels = tasks + ["aggregate"]
    rng = options.rng()
    values = {key: part.value.dropna().to_numpy()[:, None]
              for key, part in df.groupby(["learner", "method"], sort=False)}
    intervals = {task: stats.interval_estimates({m: values[(task, m)] for m in methods if len(values.get((task, m), ()))},
                                                statistic, reps=options.bootstrap_reps, rng=rng) for task in tasks}
    intervals["aggregate"] = aggregate_intervals(method_scores(df, common_tasks(df, tasks)), options)
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = styled(2.6 * ncols + 1.0, (0.3 * len(methods) + 1.0) * nrows, nrows, ncols, sharey=True)
    fig.subplots_adjust(wspace=0.12, hspace=0.45)
    for ax, panel in zip(axes.ravel(), panels):
        for y, method in enumerate(methods):
            ci = intervals[panel].get(method)
            if ci is None:
                continue
            ax.hlines(y, ci.lower, ci.upper, color=colours[method], linewidth=5, alpha=0.45)
            ax.plot([ci.point], [y], "|", color=colours[method], markersize=14, markeredgewidth=2)
        ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1)
        ax.set_title(panel, fontweight="bold" if panel == "aggregate" else "normal")
        ax.set_xlabel(xlabel)
        ax.set_yticks(range(len(methods)), [row_label(m) for m in methods])
        ax.set_ylim(len(methods) - 0.5, -0.5)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{'IQM' if options.aggregate == 'iqm' else 'Mean'} with 95% stratified-bootstrap intervals", y=1.0)
    return fig


def improvement_matrix(df: pd.DataFrame, tasks: list[str]) -> MplFigure | None:
    """P(X > Y) + P(X = Y) / 2, averaged over the observation sources every method has (rliable);
    between methods only, not the reference rows."""
    df = df[~is_reference(df.method)]
    scores = method_scores(df, common_tasks(df, tasks))
    methods = [m for m, x in scores.items() if x.shape[1] > 0]
    if len(methods) < 2:
        return None
    matrix = pd.DataFrame(np.nan, index=methods, columns=methods)
    for x in methods:
        for y in methods:
            if x != y:
                matrix.loc[x, y] = stats.probability_of_improvement(scores[x], scores[y])
    fig, axes = styled(0.62 * len(methods) + 2.4, 0.5 * len(methods) + 1.4)
    sns.heatmap(matrix, ax=axes[0, 0], vmin=0, vmax=1, center=0.5, cmap="RdBu_r", annot=True, fmt=".2f",
                cbar_kws={"label": "P(row > column)"}, square=True, linewidths=0.5)
    axes[0, 0].set_title("Probability of improvement (row over column)")
    axes[0, 0].set_xlabel("")
    axes[0, 0].set_ylabel("")
    axes[0, 0].tick_params(axis="x", labelrotation=45)  # long method names side by side would collide
    for label in axes[0, 0].get_xticklabels():
        label.set_horizontalalignment("right")
    return fig


def performance_profiles(df: pd.DataFrame, tasks: list[str], options, xlabel: str) -> MplFigure | None:
    """Score distributions: the fraction of runs x tasks above tau, with 95% bootstrap bands."""
    scores = method_scores(df, common_tasks(df, tasks))
    if not scores:
        return None
    pooled = np.concatenate([x.ravel() for x in scores.values()])
    lo, hi = min(0.0, np.percentile(pooled, 5)), max(1.2, np.percentile(pooled, 99))
    taus = np.linspace(lo, hi, 81)
    colours = palette(list(scores))
    fig, axes = styled(6.4, 4.0)
    ax = axes[0, 0]
    curves = []
    bands = stats.performance_profile_intervals(scores, taus, reps=options.bootstrap_reps, rng=options.rng())
    for method, ci in bands.items():
        ax.fill_between(taus, ci.lower, ci.upper, color=colours[method], alpha=0.18, linewidth=0)
        curves.append(pd.DataFrame({"tau": taus, "fraction": ci.point, "method": row_label(method)}))
    labelled = {row_label(m): c for m, c in colours.items()}
    dashes = {row_label(m): (4, 2) if is_reference([m])[0] else "" for m in colours}
    sns.lineplot(pd.concat(curves), x="tau", y="fraction", hue="method", palette=labelled, ax=ax, errorbar=None,
                 **({"style": "method", "dashes": dashes} if is_reference(list(colours)).any() else {}))
    ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1)
    ax.set_xlabel(f"tau ({xlabel})")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_title("Performance profiles (95% bootstrap bands)")
    return fig


def normalized_curve(x: np.ndarray, df: pd.DataFrame, normalization: str) -> np.ndarray:
    """(trials, steps) curves normalized with each trial's own reference scores."""
    if normalization == "expert":
        return expert_normalized(x, df.random_score.to_numpy()[:, None], df.optimal_score.to_numpy()[:, None])
    return lfl_normalized(x, df.learner_first_score.to_numpy()[:, None], df.learner_last_score.to_numpy()[:, None])


def learning_curves(df: pd.DataFrame, learners: list[str], normalization: str) -> MplFigure | None:
    """Per learner: its observed policies' scores (red) and, from its last observed policy on, each
    method's observer learning on the recovered reward (LfL Fig. 4), means with a std band."""
    observer = artifact_matrix(df.artifacts, "observer_curve") if "artifacts" in df else np.empty((len(df), 0))
    has_curve = ~np.isnan(observer).all(axis=1)
    df, observer = df[has_curve], observer[has_curve]
    positions = df.groupby(["learner", "method"], sort=False).indices
    present = set(df.learner.unique())
    learners = [l for l in learners if l in present]
    if not learners:
        return None
    source_of = learner_sources(df)
    methods = methods_first(df.method)
    colours = palette(methods)
    ncols = min(3, len(learners))
    nrows = -(-len(learners) // ncols)
    legend_width = 2.0  # inches at the right for the legend, inside the figure
    width = 3.8 * ncols + legend_width
    fig, axes = styled(width, 3.0 * nrows, nrows, ncols)
    fig.subplots_adjust(wspace=0.35, hspace=0.55, right=1.0 - (legend_width + 0.2) / width)
    for ax in axes.ravel()[len(learners):]:
        ax.set_visible(False)
    for ax, learner in zip(axes.ravel(), learners):
        part = df[df.learner == learner]
        convention = "expert" if (normalization == "expert"
                                  or (normalization == "protocol" and source_of[learner] == "expert")) else "lfl"
        seeds = part.drop_duplicates("seed")
        own = normalized_curve(artifact_matrix(seeds.artifacts, "learner_curve"), seeds, convention)
        k = own.shape[1] - 1
        band(ax, np.arange(k + 1), own, LEARNER_COLOUR, "learner (observed)")
        for method in methods:
            at = positions.get((learner, method))
            if at is None:
                continue
            curve = normalized_curve(observer[at], df.iloc[at], convention)
            band(ax, k + np.arange(curve.shape[1]), curve, colours[method], f"observer: {row_label(method)}",
                 linestyle="--" if is_reference([method])[0] else "-")
        ax.axvline(k, color="0.5", linestyle=":", linewidth=1)
        ax.set_title(learner)
        ax.set_xlabel("observed improvement, then observer step")
        ax.set_ylabel("normalized score\n(0 = first, 1 = last observed)" if convention == "lfl"
                      else "normalized score\n(0 = uniform, 1 = optimal)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0 - legend_width / width, 0.95), fontsize="small",
               frameon=False)
    return fig


def band(ax, x: np.ndarray, curves: np.ndarray, colour, label: str, linestyle: str = "-") -> None:
    """Mean curve with a +-1 std band over trials (a step no trial reached stays blank)."""
    with warnings.catch_warnings():  # a column of NaN (e.g. the bc row's one-point curve) is no news
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, std = np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)
    ax.plot(x, mean, color=colour, label=label, linewidth=1.6, linestyle=linestyle)
    several = (~np.isnan(curves)).sum(axis=0) >= 2  # a band only where two or more trials reached the step
    if several.any():
        ax.fill_between(x, mean - std, mean + std, where=several, color=colour, alpha=0.15, linewidth=0)


def state_grid(reward: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
    """(S, A) or (S,) reward -> (height, width) image of the per-state reward (mean over actions),
    x to the right and y up (state index x * height + y)."""
    r = np.asarray(reward, dtype=float)
    per_state = r.mean(axis=1) if r.ndim == 2 else r
    width, height = grid_shape
    return per_state.reshape(width, height).T[::-1]


def standardized(image: np.ndarray) -> np.ndarray:
    """(x - mean) / std over the grid (a constant grid: zeros): recovered rewards are defined up to
    shaping and scale, so only standardized ones share a colour scale."""
    std = image.std()
    return (image - image.mean()) / std if std > 0 else np.zeros_like(image)


def reward_heatmaps(panels: list[tuple[str, np.ndarray]], grid_shape: tuple[int, int]) -> MplFigure:
    """The true and recovered rewards on the grid, one panel each, each standardized over the grid
    and all on one shared, labelled colour scale; the raw values are written in the cells."""
    cols = min(len(panels), 5)
    rows = -(-len(panels) // cols)
    fig, axes = styled(3.0 * cols + 0.8, 2.7 * rows, rows, cols)
    fig.subplots_adjust(wspace=0.45, hspace=0.45, right=1.0 - 0.9 / (3.0 * cols + 0.8))
    width, height = grid_shape
    images = [(title, state_grid(reward, grid_shape)) for title, reward in panels]
    limit = max(2.0, max(float(np.abs(standardized(image)).max()) for _, image in images))
    for ax, (title, image) in zip(axes.ravel(), images):
        sns.heatmap(standardized(image), ax=ax, cmap="viridis", vmin=-limit, vmax=limit, annot=image, fmt=".2g",
                    annot_kws={"fontsize": 6}, square=True, cbar=False, xticklabels=range(width),
                    yticklabels=list(range(height))[::-1])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    bar = fig.add_axes((1.0 - 0.75 / (3.0 * cols + 0.8), 0.15, 0.15 / (3.0 * cols + 0.8), 0.7))
    fig.colorbar(cm.ScalarMappable(colors.Normalize(-limit, limit), "viridis"), cax=bar,
                 label="reward, standardized per panel (std units)")
    return fig


def heatmap_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The records a reward heatmap draws: those with a recovered reward and the true reward and
    grid shape beside it (tabular records; see recorded_truth), not the reference rows' (the
    oracle's reward is the true one, behavioural cloning has none)."""
    if "artifacts" not in df or df.empty:
        return df.iloc[:0]
    keep = ~is_reference(df.method)
    for key in ("reward", "true_reward", "grid_shape"):
        keep &= np.asarray(has_artifact(df.artifacts, key), dtype=bool)
    return df[keep]


def recorded_truth(df: pd.DataFrame) -> tuple[np.ndarray, tuple[int, int]] | None:
    """(the true reward table, the grid's (width, height)) that the first record carries in its
    artifacts `true_reward` and `grid_shape`; None where the records carry none, or a table that
    does not fit the grid (state index x * height + y)."""
    if "artifacts" not in df or df.empty:
        return None
    first = df.artifacts.iloc[:1]
    truth, shape = artifact_values(first, "true_reward")[0], artifact_values(first, "grid_shape")[0]
    if truth is None or not isinstance(shape, list) or len(shape) != 2:
        return None
    truth, grid_shape = np.asarray(truth, dtype=float), (int(shape[0]), int(shape[1]))
    if truth.ndim not in (1, 2) or truth.shape[0] != grid_shape[0] * grid_shape[1]:
        return None
    return truth, grid_shape


def heatmap_panels(df: pd.DataFrame, by: str) -> tuple[list[tuple[str, np.ndarray]], tuple[int, int]] | None:
    """The true reward (from the records, see recorded_truth), then one recovered reward per value
    of `by` (method or label): the lowest seed's, on the first observation source in the suite's
    order. None where the records carry no true reward or grid."""
    df = heatmap_rows(df)
    found = recorded_truth(df)
    if found is None:
        return None
    truth, grid_shape = found
    seed = df.seed.min()
    firsts = df[df.seed == seed].groupby(by, sort=False).head(1)
    rewards = zip(firsts[by], artifact_values(firsts.artifacts, "reward"))
    return [("true reward", truth)] + [(f"{name} (seed {seed})", np.array(reward)) for name, reward in rewards], \
        grid_shape


# ----- per layout -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FigureJob:
    """A figure to draw: build() gives the matplotlib figure, or None when the data has none."""

    name: str
    caption: str
    build: Callable[[], MplFigure | None]

    def run(self) -> Figure | None:
        figure = self.build()
        return None if figure is None else rendered(self.name, self.caption, figure)


def jobs_for_layout(layout: str, df: pd.DataFrame, options, prefix: str) -> list[FigureJob]:
    """The figures of one section (finished trials only), not yet drawn."""
    name = lambda kind: f"{prefix}-{kind}"
    jobs: list[FigureJob] = []
    df = with_sources(df)
    if layout in ("leaderboard", "lfl-table1", "lfl-table2", ""):  # a panel or column per task form and learner
        df = with_board_columns(df)
    learners = learner_order(df.learner)
    if layout in ("leaderboard", ""):
        metric = options.metric
        part = df.assign(value=values_of(df, metric, options.normalization))
        xlabel = "normalized score" if metric == NORMALIZED else metric
        what = NORMALIZATION_TEXT[options.normalization] if metric == NORMALIZED else metric
        jobs += [FigureJob(name("score-intervals"), f"Per observation source and aggregated: {what}; point "
                           "estimate and 95% stratified-bootstrap interval over seeds.",
                           lambda: score_intervals(part, learners, options, xlabel)),
                 FigureJob(name("improvement"), "Probability that a run of the row method scores higher than a "
                           "run of the column method, averaged over the observation sources.",
                           lambda: improvement_matrix(part, learners)),
                 FigureJob(name("profiles"), "Performance profiles: fraction of runs x observation sources "
                           "scoring above tau, with 95% bootstrap bands.",
                           lambda: performance_profiles(part, learners, options, xlabel))]
    if layout == "lfl-table3":  # Fig. 4: a panel per task (form), not per learner
        df = df.assign(learner=task_panel(df))
        learners = learner_order(df.learner)
    if layout in ("leaderboard", "lfl-table2", "lfl-table1", "lfl-table3", ""):
        shown = df if layout != "lfl-table1" else df[df.label == "theorem2"]
        jobs.append(FigureJob(name("learning-curves"), "The learner's observed policies (red, then the dotted "
                              "line) and the observer learning on each recovered reward from a clone of the last observed "
                              "behaviour (LfL Fig. 4; tabular: soft policy improvement steps, MuJoCo: PPO checkpoints); "
                              "mean and std over seeds, scored on the true reward.",
                              lambda: learning_curves(shown, learners, options.normalization)))
    if layout == "ablation":
        jobs.append(FigureJob(name("ablation"), "The normalized score (LfL's convention) against each swept value, "
                              "per learner: point estimate and 95% bootstrap interval over seeds.",
                              lambda: ablation_figure(df, options)))
    if layout in ("leaderboard", "lfl-table2", "lfl-table1"):
        if layout == "lfl-table1":
            by, what = "label", "Theorem 2's state-action reward and the state-only regression (LfL Fig. 3)"
            rewards = df[df.config.map(lambda c: not json.loads(c)["task"].get("stochastic"))]
        elif layout == "lfl-table2":
            by, what, rewards = "learner", "LfL's recovered reward from each learner", df
        else:
            by, what = "method", f"each method's recovered reward from the {learners[0]} learner"
            rewards = df[df.learner == learners[0]]
        if not heatmap_rows(rewards).empty:  # records that carry a true reward and grid (tabular tasks)
            jobs.append(FigureJob(name("rewards"), f"True reward and {what}; per-state reward (mean over actions), "
                                  "standardized per panel on one shared colour scale, its raw values written in "
                                  "the cells.",
                                  lambda: reward_figure(rewards, by)))
    return jobs


def ablation_figure(df: pd.DataFrame, options) -> MplFigure | None:
    """A sweep: the normalized score (LfL's for learners) against the swept value, one line per
    learner, the point estimate with its 95% bootstrap interval over seeds; one panel per swept key
    (the others' values pooled only where a sweep has several keys)."""
    from benchmark.report import swept_keys

    df = df[~is_reference(df.method)]
    if df.empty:
        return None
    swept = swept_keys(df)
    if swept.empty or not len(swept.columns):
        return None
    df = pd.concat([df.drop(columns=[k for k in swept.columns if k in df]), swept], axis=1)
    df = df.assign(value=values_of(df, options.metric, "lfl" if options.normalization == "protocol"
                                   else options.normalization))
    learners = learner_order(df.learner)
    colours = dict(zip(learners, sns.color_palette("colorblind", len(learners))))
    keys = list(swept.columns)
    fig, axes = styled(4.6 * len(keys) + 1.6, 3.4, 1, len(keys))
    statistic = aggregate_statistic(options.aggregate)
    rng = options.rng()
    for ax, key in zip(axes.ravel(), keys):
        numeric = pd.api.types.is_numeric_dtype(df[key])
        points = sorted(df[key].dropna().unique(), key=lambda v: (not numeric, v if numeric else str(v)))
        x = {p: (float(p) if numeric else i) for i, p in enumerate(points)}
        for learner in learners:
            part = df[df.learner == learner]
            values = {p: part[part[key] == p].value.dropna().to_numpy()[:, None] for p in points}
            intervals = stats.interval_estimates({p: v for p, v in values.items() if len(v) > 1}, statistic,
                                                 reps=options.bootstrap_reps, rng=rng)
            shown = [p for p in points if p in intervals]
            if not shown:
                continue
            xs = [x[p] for p in shown]
            ax.plot(xs, [intervals[p].point for p in shown], "-o", color=colours[learner], label=learner,
                    markersize=4, linewidth=1.4)
            ax.fill_between(xs, [intervals[p].lower for p in shown], [intervals[p].upper for p in shown],
                            color=colours[learner], alpha=0.15, linewidth=0)
        if not numeric:
            ax.set_xticks(range(len(points)), [str(p) for p in points])
        ax.set_xlabel(key)
        ax.set_ylabel("normalized score (0 = first, 1 = last observed)" if options.metric == NORMALIZED
                      else options.metric)
        ax.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0 - 1.5 / (4.6 * len(keys) + 1.6), 0.92),
                   fontsize="small", frameon=False, title="learner")
    fig.subplots_adjust(right=1.0 - 1.6 / (4.6 * len(keys) + 1.6), wspace=0.3)
    fig.suptitle(f"{'IQM' if options.aggregate == 'iqm' else 'Mean'} with 95% bootstrap intervals over seeds", y=1.0)
    return fig


def reward_figure(df: pd.DataFrame, by: str) -> MplFigure | None:
    found = heatmap_panels(df, by)
    return None if found is None else reward_heatmaps(*found)


def for_layout(layout: str, df: pd.DataFrame, options, prefix: str) -> list[Figure]:
    """The figures of one section, drawn here, one after the other."""
    return [figure for job in jobs_for_layout(layout, df, options, prefix) if (figure := job.run()) is not None]
