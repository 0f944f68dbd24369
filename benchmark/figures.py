"""The report's figures, drawn with seaborn on matplotlib Figure objects (no pyplot state):

- score_intervals: each method's normalized score per observation source and aggregated, with
  95% stratified-bootstrap intervals (rliable's interval estimates);
- improvement_matrix: probability of improvement P(row > column) between methods;
- performance_profiles: the fraction of runs scoring above tau, with bootstrap bands;
- learning_curves: the learner's observed scores, then the observer's as it learns on the
  recovered reward (LfL paper, Fig. 4);
- reward_heatmaps: the true reward and recovered ones on the grid (LfL paper, Fig. 3).

for_layout picks the figures a suite's layout shows.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402

from benchmark import stats  # noqa: E402
from benchmark.normalization import expert_normalized, lfl_normalized  # noqa: E402
from benchmark.report import NORMALIZATION_TEXT, NORMALIZED, learner_order, run_matrix, values_of  # noqa: E402
from benchmark.tables import Figure  # noqa: E402

STYLE = {"style": "whitegrid", "context": "paper"}
LEARNER_COLOUR, OBSERVER_PALETTE = "#c0392b", "tab10"


def styled(width: float, height: float, nrows: int = 1, ncols: int = 1, **kwargs):
    """A Figure and its axes in the report's seaborn style."""
    with sns.axes_style(STYLE["style"]), sns.plotting_context(STYLE["context"]):
        fig = MplFigure(figsize=(width, height))
        axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def palette(names: list[str]) -> dict[str, tuple]:
    return dict(zip(names, sns.color_palette(OBSERVER_PALETTE, len(names))))


def save(figure: Figure, directory) -> list[Path]:
    """Writes name.png and name.pdf (no creation date, so an unchanged figure gives the same file);
    returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    png, pdf = directory / f"{figure.name}.png", directory / f"{figure.name}.pdf"
    png.write_bytes(png_bytes(figure))
    figure.figure.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None})
    return [png, pdf]


@functools.cache
def png_bytes(figure: Figure) -> bytes:
    """The figure's PNG, drawn once for both the figures/ file and the HTML page."""
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
    return buffer.getvalue()


# ----- inputs -----------------------------------------------------------------------------------

def method_scores(df: pd.DataFrame, tasks: list[str]) -> dict[str, np.ndarray]:
    """method -> (runs, tasks) values, runs aligned by seed, seeds without every task dropped."""
    if not tasks:
        return {}
    matrices = {method: run_matrix(part, tasks) for method, part in df.groupby("method", sort=True)}
    return {method: scores for method, scores in matrices.items() if len(scores)}


def common_tasks(df: pd.DataFrame, order: list[str]) -> list[str]:
    """Observation sources on which every method has values (cross-method statistics need them)."""
    have = df.dropna(subset=["value"]).groupby("learner").method.nunique()
    n_methods = df.method.nunique()
    return [t for t in order if have.get(t, 0) == n_methods]


# ----- figures ----------------------------------------------------------------------------------

def score_intervals(df: pd.DataFrame, tasks: list[str], aggregate: str, rng: np.random.Generator, reps: int,
                    xlabel: str) -> MplFigure:
    """One panel per observation source and one for the aggregate: each method's point estimate
    (mean or IQM) with its 95% bootstrap interval."""
    statistic = stats.iqm if aggregate == "iqm" else stats.mean
    methods = sorted(df.method.unique())
    colours = palette(methods)
    panels = tasks + ["aggregate"]
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = styled(2.6 * ncols + 1.0, (0.3 * len(methods) + 1.0) * nrows, nrows, ncols, sharey=True)
    fig.subplots_adjust(wspace=0.12, hspace=0.45)
    scores = method_scores(df, [t for t in tasks if t in common_tasks(df, tasks)])
    for ax, panel in zip(axes.ravel(), panels):
        for y, method in enumerate(methods):
            if panel == "aggregate":
                x = scores.get(method)
                if x is None or x.shape[1] == 0:
                    continue
            else:
                v = df[(df.method == method) & (df.learner == panel)].value.dropna().to_numpy()
                if len(v) == 0:
                    continue
                x = v[:, None]
            ci = stats.stratified_bootstrap_ci(x, statistic, reps=reps, rng=rng)
            ax.hlines(y, ci.lower, ci.upper, color=colours[method], linewidth=5, alpha=0.45)
            ax.plot([ci.point], [y], "|", color=colours[method], markersize=14, markeredgewidth=2)
        ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1)
        ax.set_title(panel, fontweight="bold" if panel == "aggregate" else "normal")
        ax.set_xlabel(xlabel)
        ax.set_yticks(range(len(methods)), methods)
        ax.set_ylim(len(methods) - 0.5, -0.5)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"{'IQM' if aggregate == 'iqm' else 'Mean'} with 95% stratified-bootstrap intervals", y=1.0)
    return fig


def improvement_matrix(df: pd.DataFrame, tasks: list[str]) -> MplFigure | None:
    """P(X > Y) + P(X = Y) / 2, averaged over the observation sources every method has (rliable)."""
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
    return fig


def performance_profiles(df: pd.DataFrame, tasks: list[str], rng: np.random.Generator, reps: int,
                         xlabel: str) -> MplFigure | None:
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
    for method, x in scores.items():
        ci = stats.performance_profile_ci(x, taus, reps=reps, rng=rng)
        ax.fill_between(taus, ci.lower, ci.upper, color=colours[method], alpha=0.18, linewidth=0)
        curves.append(pd.DataFrame({"tau": taus, "fraction": ci.point, "method": method}))
    sns.lineplot(pd.concat(curves), x="tau", y="fraction", hue="method", palette=colours, ax=ax, errorbar=None)
    ax.axvline(1.0, color="0.3", linestyle=":", linewidth=1)
    ax.set_xlabel(f"tau ({xlabel})")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_title("Performance profiles (95% bootstrap bands)")
    return fig


def normalized_curve(curves: pd.Series, df: pd.DataFrame, normalization: str) -> np.ndarray:
    """(trials, steps) curves normalized with each trial's own reference scores."""
    x = np.array(curves.tolist(), dtype=float)
    if normalization == "expert":
        return expert_normalized(x, df.random_score.to_numpy()[:, None], df.optimal_score.to_numpy()[:, None])
    return lfl_normalized(x, df.learner_first_score.to_numpy()[:, None], df.learner_last_score.to_numpy()[:, None])


def learning_curves(df: pd.DataFrame, learners: list[str], normalization: str) -> MplFigure | None:
    """Per learner: its observed policies' scores (red) and, from its last observed policy on, each
    method's observer learning on the recovered reward (LfL Fig. 4), means with a std band."""
    df = df[df.observer_curve.notna()] if "observer_curve" in df else df.iloc[:0]
    learners = [l for l in learners if l in set(df.learner)]
    if not learners:
        return None
    methods = sorted(df.method.unique())
    colours = palette(methods)
    ncols = min(3, len(learners))
    nrows = -(-len(learners) // ncols)
    fig, axes = styled(3.8 * ncols, 3.0 * nrows, nrows, ncols)
    fig.subplots_adjust(wspace=0.35, hspace=0.55)
    for ax in axes.ravel()[len(learners):]:
        ax.set_visible(False)
    for ax, learner in zip(axes.ravel(), learners):
        part = df[df.learner == learner]
        convention = "expert" if (normalization == "expert" or (normalization == "protocol" and learner == "expert")) \
            else "lfl"
        seeds = part.drop_duplicates("seed")
        own = normalized_curve(seeds.learner_curve, seeds, convention)
        k = own.shape[1] - 1
        band(ax, np.arange(k + 1), own, LEARNER_COLOUR, "learner (observed)")
        for method in methods:
            trials = part[part.method == method]
            curve = normalized_curve(trials.observer_curve, trials, convention)
            band(ax, k + np.arange(curve.shape[1]), curve, colours[method], f"observer: {method}")
        ax.axvline(k, color="0.5", linestyle=":", linewidth=1)
        ax.set_title(learner)
        ax.set_xlabel("observed improvement, then observer step")
        ax.set_ylabel("normalized score\n(0 = first, 1 = last observed)" if convention == "lfl"
                      else "normalized score\n(0 = uniform, 1 = optimal)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95), fontsize="small", frameon=False)
    return fig


def band(ax, x: np.ndarray, curves: np.ndarray, colour, label: str) -> None:
    """Mean curve with a +-1 std band over trials."""
    mean, std = np.nanmean(curves, axis=0), np.nanstd(curves, axis=0)
    ax.plot(x, mean, color=colour, label=label, linewidth=1.6)
    ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)


def state_grid(reward: np.ndarray, grid_shape: tuple[int, int]) -> np.ndarray:
    """(S, A) or (S,) reward -> (height, width) image of the per-state reward (mean over actions),
    x to the right and y up (state index x * height + y)."""
    r = np.asarray(reward, dtype=float)
    per_state = r.mean(axis=1) if r.ndim == 2 else r
    width, height = grid_shape
    return per_state.reshape(width, height).T[::-1]


def reward_heatmaps(panels: list[tuple[str, np.ndarray]], grid_shape: tuple[int, int]) -> MplFigure:
    """The true and recovered rewards on the grid, one panel each, each on its own colour scale
    (recovered rewards are defined up to shaping and scale)."""
    cols = min(len(panels), 5)
    rows = -(-len(panels) // cols)
    fig, axes = styled(3.0 * cols, 2.7 * rows, rows, cols)
    fig.subplots_adjust(wspace=0.45, hspace=0.45)
    width, height = grid_shape
    for ax, (title, reward) in zip(axes.ravel(), panels):
        sns.heatmap(state_grid(reward, grid_shape), ax=ax, cmap="viridis", annot=True, fmt=".2g",
                    annot_kws={"fontsize": 6}, square=True, cbar=True, xticklabels=range(width),
                    yticklabels=list(range(height))[::-1])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    return fig


def true_reward(config_json: str):
    """(reward table, grid shape) of a record's task, rebuilt from its resolved config."""
    from envs.tasks import TASKS

    values = dict(json.loads(config_json)["task"])
    config_class, build = TASKS[values.pop("name")]
    task = build(config_class(**values))
    return task.mdp.reward, task.grid_shape


def heatmap_panels(df: pd.DataFrame, by: str) -> tuple[list[tuple[str, np.ndarray]], tuple[int, int]] | None:
    """The true reward, then one recovered reward per value of `by` (method or label): the lowest
    seed's, on the first observation source in the suite's order."""
    if "reward" not in df or df.reward.isna().all():
        return None
    df = df[df.reward.notna()]
    truth, grid_shape = true_reward(df.config.iloc[0])
    if grid_shape is None:
        return None
    seed = df.seed.min()
    panels = [("true reward", truth)]
    for name, part in df[df.seed == seed].groupby(by, sort=False):
        panels.append((f"{name} (seed {seed})", np.array(part.reward.iloc[0])))
    return panels, grid_shape


# ----- per layout -------------------------------------------------------------------------------

def for_layout(layout: str, df: pd.DataFrame, options, prefix: str) -> list[Figure]:
    """The figures of one section (finished trials only)."""
    name = lambda kind: f"{prefix}-{kind}"
    figures: list[Figure] = []
    learners = learner_order(df.learner.unique())
    rng, reps = options.rng(), options.bootstrap_reps
    if layout in ("leaderboard", ""):
        metric = options.metric
        part = df.assign(value=values_of(df, metric, options.normalization))
        xlabel = "normalized score" if metric == NORMALIZED else metric
        what = NORMALIZATION_TEXT[options.normalization] if metric == NORMALIZED else metric
        figures.append(Figure(name("score-intervals"), f"Per observation source and aggregated: {what}; "
                              "point estimate and 95% stratified-bootstrap interval over seeds.",
                              score_intervals(part, learners, options.aggregate, rng, reps, xlabel)))
        poi = improvement_matrix(part, learners)
        if poi is not None:
            figures.append(Figure(name("improvement"), "Probability that a run of the row method scores higher "
                                  "than a run of the column method, averaged over the observation sources.", poi))
        profiles = performance_profiles(part, learners, rng, reps, xlabel)
        if profiles is not None:
            figures.append(Figure(name("profiles"), "Performance profiles: fraction of runs x observation "
                                  "sources scoring above tau, with 95% bootstrap bands.", profiles))
    if layout in ("leaderboard", "lfl-table2", "lfl-table1", "lfl-table3", ""):
        curves = learning_curves(df if layout != "lfl-table1" else df[df.label == "theorem2"], learners,
                                 options.normalization)
        if curves is not None:
            figures.append(Figure(name("learning-curves"), "The learner's observed policies (red, then the "
                                  "dotted line) and the observer learning on each recovered reward by soft policy "
                                  "improvement from a clone of the last observed behaviour (LfL Fig. 4); mean and "
                                  "std over seeds, scored on the true reward.", curves))
    if layout in ("leaderboard", "lfl-table2", "lfl-table1"):
        if layout == "lfl-table1":
            shown, by = df[df.config.map(lambda c: not json.loads(c)["task"].get("stochastic"))], "label"
        elif layout == "lfl-table2":
            shown, by = df, "learner"
        else:
            shown, by = df[df.learner == learners[0]], "method"
        found = heatmap_panels(shown, by)
        if found is not None:
            panels, grid_shape = found
            what = {"label": "Theorem 2's state-action reward and the state-only regression (LfL Fig. 3)",
                    "learner": "LfL's recovered reward from each learner",
                    "method": f"each method's recovered reward from the {learners[0]} learner"}[by]
            figures.append(Figure(name("rewards"), f"True reward and {what}; per-state reward (mean over "
                                  "actions), each panel on its own colour scale.",
                                  reward_heatmaps(panels, grid_shape)))
    return figures
