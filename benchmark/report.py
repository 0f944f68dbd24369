"""The report: records -> Sections of Tables and Figures, in the layout each suite names.

Layouts: the LfL paper's Tables 1, 2 and 3 (with the published numbers beside ours, from
published.toml), the leaderboard (methods x observation sources, normalized scores, an aggregate
column, the methods' own policies, EPIC distances, and the five figure types), ablations (swept
values x learners) and a generic methods x learners table for any other suite. Statistics come
from benchmark/stats.py, figures from benchmark/figures.py, the text formats from tables.py.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tomllib
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import forked, stats
from benchmark.normalization import expert_normalized, lfl_normalized
from benchmark.tables import AGGREGATES, NORMALIZATIONS, NORMALIZED, Cell, Section, Table, text  # noqa: F401

PUBLISHED = tomllib.loads((Path(__file__).parent / "published.toml").read_text())
# Rows the pipeline computes beside the IRL methods, as bounds: the observer trained on the true reward
# (the ceiling) and a behavioural clone of the last observed batch, with no reward (the floor). Tables
# list them after the methods, marked, and leave them out of the best marks and method comparisons.
REFERENCE_ROWS = ("oracle", "bc")
REFERENCE_TEXT = {"oracle": "the observer trained on the true reward (the ceiling)",
                  "bc": "a behavioural clone of the last observed batch, no reward (the floor)"}
LOWER_IS_BETTER = {"regret", "epic_distance", "total_s", "fit_s"}
METRIC_NAMES = {"total_s": "Seconds a trial (dataset, fit, observer and evaluation; one core)",
                "fit_s": "Seconds a fit (the method alone; one core)",
                "epic_distance": "EPIC distance to the true reward (0 = equal up to shaping and scale)",
                "score": "Observer score J (true reward, soft value of the start state)",
                "regret": "Observer regret J(pi*) - J(observer)"}
NORMALIZATION_TEXT = {
    "protocol": "each protocol's convention: learner sequences 0 = first observed policy, 1 = last (LfL); "
                "expert demonstrations 0 = uniform policy, 1 = optimal (imitation)",
    "lfl": "LfL's convention: 0 = first observed policy, 1 = last",
    "expert": "imitation's convention: 0 = uniform policy, 1 = optimal",
}


@dataclass(frozen=True)
class ReportOptions:
    """metric: a record metric, or "normalized" for the normalized score in `normalization`;
    aggregate: the cell statistic, mean ± std or IQM with its 95% bootstrap interval."""

    metric: str = NORMALIZED
    normalization: str = "protocol"
    aggregate: str = "mean"
    figures: bool = True
    bootstrap_reps: int = 2000
    seed: int = 0

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


def declared_source(track: str | None, learner: str) -> str:
    """The observation source a learner declares (envs.registry.learner_source: "sequence" or
    "expert"), for records written before records carried their `source`. Legacy fallback, where
    envs.registry cannot be imported or does not know the learner: "expert" for the learner named
    "expert", "sequence" for any other (the convention of the stores of that time)."""
    try:
        from envs.registry import learner_source
    except ImportError:
        learner_source = None
    if learner_source is not None:
        try:
            return learner_source(track, learner)
        except (LookupError, ValueError):
            pass
    return "expert" if learner == "expert" else "sequence"


def sources(df: pd.DataFrame) -> pd.Series:
    """Each record's observation source, "sequence" or "expert": its `source` field, or, in a record
    without one, its learner's declaration (declared_source, asked once per track and learner)."""
    given = df["source"] if "source" in df else pd.Series(None, index=df.index, dtype=object)
    missing = given.isna().to_numpy()
    if not missing.any():
        return given.astype(object)
    tracks = df["track"] if "track" in df else pd.Series(None, index=df.index, dtype=object)
    pairs = [(None if pd.isna(t) else t, l) for t, l in zip(tracks[missing], df.learner[missing])]
    declared = {pair: declared_source(*pair) for pair in dict.fromkeys(pairs)}
    out = given.astype(object).copy()
    out[missing] = [declared[pair] for pair in pairs]
    return out


def with_sources(df: pd.DataFrame) -> pd.DataFrame:
    """df with its "source" column filled in (see sources)."""
    if "source" in df and df["source"].notna().all():
        return df
    return df.assign(source=sources(df))


def task_form(config_json: str) -> str:
    """A record's task as a board names it: the task, and its variant where it has one."""
    task = json.loads(config_json)["task"]
    variants = [v for v, on in (("stochastic", task.get("stochastic")), ("fixed horizon", task.get("fixed_horizon")))
                if on]
    return task["name"] + (f" ({', '.join(variants)})" if variants else "")


def with_board_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A board's columns are its observation sources; where the records span several task forms
    (the MuJoCo boards), each column is a task form and a source, e.g. "hopper: ppo", and the
    `learner` column is relabelled so (the true learner names stay in the configs)."""
    if df.empty:
        return df
    forms = df.config.map(task_form)
    if forms.nunique() < 2:
        return df
    return with_sources(df).assign(learner=forms + ": " + df.learner)


def learner_sources(df: pd.DataFrame) -> dict[str, str]:
    """learner -> its records' observation source (the first record's, if they differ)."""
    out: dict[str, str] = {}
    for learner, source in zip(df.learner, sources(df)):
        out.setdefault(learner, source)
    return out


def learner_order(learners) -> list[str]:
    """The learners (observation sources) in order of first appearance: the records' order in the
    store, which is the order their suite expanded them in."""
    return list(dict.fromkeys(learners))


def base_method(name: str) -> str:
    """A row's method: its name without the settings a variant row is labelled with ("lfl [k=v]")."""
    return name.split(" [", 1)[0]


def is_reference(methods) -> np.ndarray:
    """Whether each method is a reference row (REFERENCE_ROWS), not an IRL method."""
    return np.array([base_method(str(m)) in REFERENCE_ROWS for m in methods], dtype=bool)


def methods_first(methods) -> list[str]:
    """The methods, sorted, then the reference rows present, in REFERENCE_ROWS order (variants of a
    method after it, sorted)."""
    present = set(methods)
    references = [m for m in present if base_method(m) in REFERENCE_ROWS]
    return (sorted(present - set(references))
            + sorted(references, key=lambda m: (REFERENCE_ROWS.index(base_method(m)), m)))


def row_label(method: str) -> str:
    return f"{method} (reference)" if base_method(method) in REFERENCE_ROWS else method


# ----- cells that are one configuration, in the suite's order ------------------------------------

VARIANT_IGNORED = ("seed", "suite", "label", "profile")  # what may differ within a cell: its seeds


def flat_config(config_json: str) -> dict[str, Any]:
    """A resolved config as "section.key" -> value, without what identifies a trial within a cell."""
    config = json.loads(config_json)
    out = {}
    for section, values in config.items():
        if section in VARIANT_IGNORED:
            continue
        if isinstance(values, dict):
            out.update({f"{section}.{key}": value for key, value in values.items()})
        else:
            out[section] = values
    return out


def split_variants(df: pd.DataFrame) -> pd.DataFrame:
    """Records of one cell (suite, profile, label, task form, learner and method) whose resolved
    configs differ in anything but the seed (a --set override, a changed default, another plugin
    version) are never pooled: each variant's method is named with the keys that differ,
    "lfl [method.alpha_model=0.3]". Settings a suite defines per cell are part of the cell."""
    if df.empty:
        return df
    flat = {i: flat_config(c) for i, c in zip(df.index, df.config)}
    forms = df.config.map(task_form)
    method = df.method.copy()
    for _, group in df.groupby([df.suite, df.profile, df.label, forms, df.learner, df.method], sort=False):
        distinct = {json.dumps(flat[i], sort_keys=True) for i in group.index}
        if len(distinct) < 2:
            continue
        keys = sorted({k for i in group.index for k in flat[i]})
        differing = [k for k in keys if len({json.dumps(flat[i].get(k), sort_keys=True) for i in group.index}) > 1]
        for i in group.index:
            shown = ", ".join(f"{k}={json.dumps(flat[i].get(k))}" for k in differing)
            method[i] = f"{df.method[i]} [{shown}]"
    return df.assign(method=method)


def suite_positions(suite: str) -> dict[tuple[str, str], int]:
    """(task form, learner) -> its place in a packaged suite's file: cells in order, each cell's
    matrix presets in the order the suite expands them (read from the file alone: the report
    imports no method). Empty for a suite that is not packaged."""
    from benchmark.suite_files import SUITES_DIR, suite_names

    if suite not in suite_names():
        return {}
    data = tomllib.loads((SUITES_DIR / f"{suite}.toml").read_text())
    defaults, matrix = data.get("defaults", {}), data.get("matrix", {})
    positions: dict[tuple[str, str], int] = {}
    for cell in data.get("cells", [{}]):
        options = {section: [cell[section]] if section in cell else list(matrix.get(section, []))
                   or [defaults.get(section, {})] for section in ("task", "learner")}
        nested = [section for section in matrix if section in options] + [s for s in options if s not in matrix]
        combos = [{}]
        for section in nested:
            combos = [{**combo, section: value} for combo in combos for value in options[section]]
        for combo in combos:
            form = task_form(json.dumps({"task": {**defaults.get("task", {}), **combo["task"]}}))
            positions.setdefault((form, combo["learner"].get("name", "")), len(positions))
    return positions


def in_suite_order(df: pd.DataFrame, suite: str, profile: str) -> pd.DataFrame:
    """df's records in the order their suite's file lists its cells (task forms and learners), then
    by name: the order of a table's columns and rows, whatever order the trials finished in."""
    try:
        positions = suite_positions(suite)
    except (OSError, tomllib.TOMLDecodeError, AttributeError, TypeError, KeyError):  # an unreadable file
        positions = {}
    keys = list(zip(df.config.map(task_form), df.learner))
    rank = [(positions.get(key, len(positions)), key) for key in keys]
    return df.iloc[sorted(range(len(df)), key=lambda i: rank[i])]


def reference_note(methods) -> tuple[str, ...]:
    present = [m for m in REFERENCE_ROWS if m in {base_method(x) for x in methods}]
    if not present:
        return ()
    return ("reference rows, not IRL methods, listed after them and left out of the best marks: "
            + "; ".join(f"{m}: {REFERENCE_TEXT[m]}" for m in present) + ".",)


# ----- values and cells -------------------------------------------------------------------------

# LfL's normalized score, (score - first) / (last - first), means something only where the learner's
# span, last - first, stands out of the noise of its two sampled scores: at least SPAN_SE standard
# errors of their difference (the records' learner_first_se and learner_last_se).
SPAN_SE = 2.0
NOT_MEANINGFUL_NOTE = (f"n.m.: not meaningful: the learner's span (last - first observed score) is below {SPAN_SE:g} "
                       "standard errors of that difference in every seed (LfL's normalization would divide by "
                       "noise); the cell gives the span, mean ± its standard error. A seed whose span is below it "
                       "is left out of a cell with other seeds (its n says how many remain).")
NO_SE_NOTE = ("{n} record(s) made before records carried the standard errors of the learner's scores: their "
              "LfL-normalized scores are shown unchecked.")


def lfl_rows(df: pd.DataFrame, normalization: str) -> pd.Series:
    """Whether each row's normalized score is LfL's under `normalization`."""
    if normalization == "lfl":
        return pd.Series(True, index=df.index)
    if normalization == "expert":
        return pd.Series(False, index=df.index)
    return sources(df) != "expert"


def span_meaningful(df: pd.DataFrame) -> pd.Series:
    """Per row: True where the learner's span is at least SPAN_SE standard errors, False where it is
    not, None where the record carries no standard errors (records made before them, exact scores)."""
    if "learner_first_se" not in df:
        return pd.Series(None, index=df.index, dtype=object)
    se = np.sqrt(df.learner_first_se.astype(float) ** 2 + df.learner_last_se.astype(float) ** 2)
    span = df.learner_last_score - df.learner_first_score
    out = pd.Series((span >= SPAN_SE * se).to_numpy(), index=df.index, dtype=object)
    out[se.isna().to_numpy()] = None
    return out


def normalized(df: pd.DataFrame, score: str, normalization: str) -> pd.Series:
    """`score` (a column of scores) normalized per row: LfL's (first/last observed policy),
    imitation's (uniform/optimal) or each protocol's own, by the record's observation source (LfL's
    for learner sequences, imitation's for expert demonstrations). LfL's is NaN where the learner's
    span is not meaningful (span_meaningful)."""
    lfl = pd.Series(lfl_normalized(df[score], df.learner_first_score, df.learner_last_score), index=df.index)
    lfl = lfl.where(span_meaningful(df) != False)  # noqa: E712 (None: unknown, kept)
    expert = pd.Series(expert_normalized(df[score], df.random_score, df.optimal_score), index=df.index)
    if normalization == "lfl":
        return lfl
    if normalization == "expert":
        return expert
    return expert.where(sources(df) == "expert", lfl)


def with_values(df: pd.DataFrame, metric: str, normalization: str) -> pd.DataFrame:
    """df with `value` (values_of) and `not_meaningful`: rows whose value is LfL's normalized score
    and whose learner's span is not meaningful; `unchecked`: such rows without standard errors."""
    value = values_of(df, metric, normalization)
    lfl = lfl_rows(df, normalization) & (metric in (NORMALIZED, "policy_normalized"))
    meaningful = span_meaningful(df)
    return df.assign(value=value, not_meaningful=lfl & (meaningful == False),  # noqa: E712
                     unchecked=lfl & meaningful.isna())


def span_cell(part: pd.DataFrame) -> Cell | None:
    """A cell whose every seed's span is not meaningful: "n.m. (span S ± SE)", else None."""
    if "not_meaningful" not in part or part.empty or not part.not_meaningful.all():
        return None
    span = (part.learner_last_score - part.learner_first_score).mean()
    se = np.sqrt(((part.learner_first_se ** 2 + part.learner_last_se ** 2).mean()) / len(part))
    return text(f"n.m. (span {span:.3g} ± {se:.2g})")


def span_notes(df: pd.DataFrame) -> tuple[str, ...]:
    """The notes a table of `df` (with_values) needs about LfL's normalization."""
    notes = ()
    if "not_meaningful" in df and df.not_meaningful.any():
        notes += (NOT_MEANINGFUL_NOTE,)
    if "unchecked" in df and "track" in df:
        sampled = df.unchecked & (df.track == "mujoco")  # tabular scores are exact: nothing to check
        if sampled.any():
            notes += (NO_SE_NOTE.format(n=int(sampled.sum())),)
    return notes


def values_of(df: pd.DataFrame, metric: str, normalization: str) -> pd.Series:
    """The reported value of each trial: a normalized score, or a raw metric."""
    if metric == NORMALIZED:
        return normalized(df, "score", normalization)
    if metric == "policy_normalized":
        return normalized(df, "method_policy_score", normalization)
    return pd.to_numeric(df[metric], errors="coerce") if metric in df else pd.Series(np.nan, index=df.index)


def summary_cells(column: dict, aggregate: str, rng: np.random.Generator, reps: int, digits: int = 2,
                  count: bool = True) -> dict:
    """key -> mean ± std (n), or IQM [95% bootstrap interval] (n), of each cell's runs (NaNs dropped),
    the cells of one column sharing their bootstrap draws; without `count` when the table has its
    own n column."""
    runs = {key: np.asarray(values, dtype=float) for key, values in column.items()}
    runs = {key: x[np.isfinite(x)] for key, x in runs.items()}
    resampled = {key: x[:, None] for key, x in runs.items() if len(x) > 1}
    intervals = (stats.interval_estimates(resampled, stats.iqm, reps=reps, rng=rng)
                 if aggregate == "iqm" and resampled else {})
    cells = {}
    for key, x in runs.items():
        n = len(x) if count else None
        if len(x) == 0:
            cells[key] = Cell(digits=digits)
        elif key in intervals:
            ci = intervals[key]
            cells[key] = Cell(ci.point, lower=ci.lower, upper=ci.upper, n=n, digits=digits)
        elif aggregate == "iqm":
            cells[key] = Cell(float(x[0]), n=n, digits=digits)
        else:
            cells[key] = Cell(float(x.mean()), spread=float(x.std()) if len(x) > 1 else None, n=n, digits=digits)
    return cells


def summary_cell(values, aggregate: str, rng: np.random.Generator, reps: int, digits: int = 2,
                 count: bool = True) -> Cell:
    """summary_cells of one cell."""
    return summary_cells({0: values}, aggregate, rng, reps, digits, count)[0]


def run_matrix(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """(runs, tasks): one method's values, runs aligned by seed across the task columns; seeds
    missing from any task are dropped (a stratified bootstrap needs every task in every run)."""
    wide = df.pivot_table(index="seed", columns="learner", values="value", aggfunc="first")
    return wide.reindex(columns=columns).dropna().to_numpy()


def aggregate_statistic(aggregate: str):
    return stats.iqm if aggregate == "iqm" else stats.mean


def aggregate_intervals(score_dict: dict[str, np.ndarray], options: ReportOptions) -> dict[str, stats.Interval]:
    """Each (runs, tasks) array's aggregate (mean or IQM of all runs x tasks) with its 95%
    stratified-bootstrap interval, drawn from a fresh generator of the report's seed: the table's
    aggregate column and the figure's aggregate panel use the same resamples, so they agree."""
    return stats.interval_estimates({k: s for k, s in score_dict.items() if s.size},
                                    aggregate_statistic(options.aggregate), reps=options.bootstrap_reps,
                                    rng=options.rng())


def mark_best(rows: list[list[Cell]], lower_is_better: bool, first: int = 1) -> list[tuple[Cell, ...]]:
    """Marks the best point estimate of each numeric column (ties all marked)."""
    rows = [list(r) for r in rows]
    for j in range(first, len(rows[0]) if rows else 0):
        points = [r[j].point for r in rows if r[j].is_number]
        if len(points) < 2:
            continue
        best = min(points) if lower_is_better else max(points)
        for r in rows:
            if r[j].is_number and r[j].point == best:
                r[j] = Cell(**{**r[j].__dict__, "best": True})
    return [tuple(r) for r in rows]


def row_config(configs: pd.Series) -> str:
    """The resolved config behind a table row, as JSON: keys equal across the row's trials once,
    keys that differ (the learner, a swept value) as the list of their values. Seed and label aside."""
    parsed = [json.loads(c) for c in configs.drop_duplicates()]
    merged = {}
    for key in parsed[0]:
        if key in ("seed", "label"):
            continue
        distinct = []
        for config in parsed:
            if config.get(key) not in distinct:
                distinct.append(config.get(key))
        merged[key] = distinct[0] if len(distinct) == 1 else {"varies": distinct}
    return json.dumps(merged, sort_keys=True)


def matrix_table(df: pd.DataFrame, *, name: str, title: str, columns: list[str], options: ReportOptions,
                 lower_is_better: bool = False, aggregate_column: bool = True, row_key: str = "method",
                 notes: tuple[str, ...] = ()) -> Table:
    """Rows (methods) x columns (observation sources) of summary cells of df.value, an aggregate
    column over the columns, the best per column marked and each row's resolved config. Rows of
    methods are sorted; reference rows (REFERENCE_ROWS) follow them, marked, and take no best mark."""
    rng, reps = options.rng(), options.bootstrap_reps
    groups = dict(tuple(df.groupby([row_key, "learner"], sort=False)))
    parts = dict(tuple(df.groupby(row_key, sort=True)))
    if row_key == "method":
        parts = {key: parts[key] for key in methods_first(parts)}
    reference = [row_key == "method" and key in REFERENCE_ROWS for key in parts]
    rows, configs = [], []
    cells = {column: summary_cells({key: groups[(key, column)].value for key in parts if (key, column) in groups},
                                   options.aggregate, rng, reps) for column in columns}
    for key, part in parts.items():
        rows.append([text(row_label(key) if row_key == "method" else key)]
                    + [span_cell(groups[(key, column)]) or cells[column].get(key, Cell()) if (key, column) in groups
                       else Cell() for column in columns])
        configs.append(row_config(part.groupby("learner", sort=False).config.first()))
    if aggregate_column:
        # n = runs with a value in every task the row has values for
        scores = {key: run_matrix(part, [c for c in columns if (key, c) in groups
                                         and groups[(key, c)].value.notna().any()])
                  for key, part in parts.items()}
        intervals = aggregate_intervals(scores, options)
        for row, key in zip(rows, parts):
            ci = intervals.get(key)
            row.append(Cell(ci.point, lower=ci.lower, upper=ci.upper, n=len(scores[key])) if ci else Cell())
    header = [row_key] + columns + (["aggregate"] if aggregate_column else [])
    source_of = learner_sources(df)
    protocols = [""] + [source_of.get(c, "") for c in columns] + ([""] if aggregate_column else [])
    aggregate_note = (f"aggregate: the {'IQM' if options.aggregate == 'iqm' else 'mean'} of all runs x tasks "
                      "that have a value, [95% stratified-bootstrap interval] (runs with every task).")
    cell_note = ("cells: IQM [95% bootstrap interval] (n runs)." if options.aggregate == "iqm"
                 else "cells: mean ± std (n runs).")
    methods = [row for row, ref in zip(rows, reference) if not ref]
    references = [tuple(row) for row, ref in zip(rows, reference) if ref]
    return Table(name, title, tuple(header), tuple(mark_best(methods, lower_is_better)) + tuple(references),
                 notes=(cell_note,) + ((aggregate_note,) if aggregate_column else ())
                 + (reference_note(parts) if row_key == "method" else ()) + span_notes(df) + notes,
                 column_protocols=tuple(protocols), row_configs=tuple(configs),
                 row_kinds=tuple("reference" if ref else "" for ref in reference) if any(reference) else ())


def metric_title(options: ReportOptions, metric: str | None = None) -> str:
    metric = metric or options.metric
    if metric == NORMALIZED:
        return f"Normalized score ({NORMALIZATION_TEXT[options.normalization]})"
    if metric == "policy_normalized":
        return (f"The method's own policy (for methods that train one), normalized score "
                f"({NORMALIZATION_TEXT[options.normalization]})")
    name = METRIC_NAMES.get(metric, metric)
    return f"{name} ({'lower' if metric in LOWER_IS_BETTER else 'higher'} is better)"


# ----- layouts ----------------------------------------------------------------------------------

def _task_variant(config_json: str) -> str:
    task = json.loads(config_json)["task"]
    return "stochastic" if task.get("stochastic") else "deterministic"


def _regret(x: float) -> str:
    return f"{x:.1e}" if abs(x) < 1e-3 else f"{x:.2f}"


def layout_lfl_table1(df: pd.DataFrame, options: ReportOptions) -> list[Table]:
    """The paper's Table 1: exact policies pi1 = uniform, pi2 = SPI(pi1); the observer's regret with
    the Theorem 2 reward and the state-only regression."""
    tables = []
    names = {"theorem2": "r_bar_1->2 (Theorem 2)", "state_only": "r_bar_phi (state-only regression)"}
    used = {"oracle": ("r", "pi*_soft"), "bc": ("none", "clone")}
    for variant, whole in df.groupby(df["config"].map(_task_variant), sort=False):
        reference = is_reference(whole.method)
        part, references = (whole[~reference], whole[reference]) if not reference.all() else (whole, whole[:0])
        first = part.iloc[0]
        ref = PUBLISHED["lfl-table1"] if variant == "deterministic" else {}  # the paper has no stochastic row
        rows = [("optimal", "r", "pi*_soft", first.optimal_score, 0.0, ref.get("optimal", {})),
                ("learner", "r", "pi1", first.learner_first_score, first.optimal_score - first.learner_first_score,
                 ref.get("learner_first", {})),
                ("learner", "r", "pi2", first.learner_last_score, first.optimal_score - first.learner_last_score,
                 ref.get("learner_last", {}))]
        for label, group in part.groupby("label", sort=False):
            rows.append(("observer", names.get(label, label), "pi*_soft", group.score.mean(), group.regret.max(),
                         ref.get(label, {})))
        kinds = [""] * len(rows)
        for method in methods_first(references.method):
            group = references[references.method == method]
            rows.append((row_label(method), *used.get(method, ("", "")), group.score.mean(), group.regret.max(), {}))
            kinds.append("reference")
        cells = [(text(a), text(r), text(p), Cell(s), text(_regret(g)), text(pub.get("score", "n/a")),
                  text(pub.get("regret", "n/a"))) for a, r, p, s, g, pub in rows]
        tables.append(Table(f"table1-{variant}", f"LfL Table 1, {variant} gridworld (n = {part.seed.nunique()} "
                                                 "seed(s))",
                            ("agent", "reward used", "policy", "score", "regret", "paper score", "paper regret"),
                            tuple(cells), notes=(f"Paper columns: {PUBLISHED['lfl-table1']['source']} "
                                                 "(deterministic grid only).",) + reference_note(references.method),
                            row_kinds=tuple(kinds) if len(references) else ()))
    return tables


def layout_lfl_table2(df: pd.DataFrame, options: ReportOptions) -> list[Table]:
    """The paper's Table 2: the learner's last observed score against the observer's, per learner
    and method. The paper's columns are LfL's: they stand only beside our LfL rows."""
    ref = PUBLISHED["lfl-table2"]
    rng, reps = options.rng(), options.bootstrap_reps
    reference = is_reference(df.method)
    observers, references = df[~reference], df[reference]
    shown = methods_first(references.method)  # reference rows as columns of their own, after the paper's
    rows = []
    cell = lambda v: summary_cell(v, options.aggregate, rng, reps, count=False)  # noqa: E731
    for learner in learner_order(observers.learner):
        pub = ref.get(learner, {})
        for method in methods_first(observers[observers.learner == learner].method):
            part = observers[(observers.learner == learner) & (observers.method == method)]
            wins = (part.score > part.learner_last_score).mean()
            lfl = base_method(method) == "lfl"
            rows.append((text(learner), text(method), text(pub.get("k", "")), text(len(part)),
                         cell(part.learner_last_score), cell(part.score), cell(part.score - part.learner_last_score),
                         text(f"{100 * wins:.0f}%"), text(pub.get("learner", "n/a") if lfl else "-"),
                         text(pub.get("observer", "n/a") if lfl else "-"))
                        + tuple(cell(references[(references.learner == learner) & (references.method == m)].score)
                                for m in shown))
    statistic = "IQM [95% bootstrap interval]" if options.aggregate == "iqm" else "mean ± std"
    return [Table("table2", f"LfL Table 2 ({statistic} over seeds)",
                  ("learner", "method", "K", "n", "learner score", "observer score", "observer - learner",
                   "seeds observer > learner", "paper learner", "paper observer (LfL)")
                  + tuple(f"{row_label(m)} score" for m in shown),
                  tuple(rows), notes=(f"Paper columns: {ref['source']}; LfL's, shown beside our LfL rows only.",)
                  + reference_note(shown), keys=2)]


def task_panel(df: pd.DataFrame) -> pd.Series:
    """A MuJoCo record's task form for a per-task row or panel: the task, and the cell's label if any
    (e.g. "hopper (termination=pessimistic)")."""
    return df.task + df.label.map(lambda label: f" ({label})" if label else "")


def layout_lfl_table3(df: pd.DataFrame, options: ReportOptions) -> list[Table]:
    """The paper's Table 3: per environment, the LfL-normalized score of AIRL, DAC and LfL (and
    any other method run), ours beside the published one; a labelled cell (a variant of a task's
    protocol) is a row of its own."""
    ref = PUBLISHED["lfl-table3"]
    borrowed = set(df[df.suite == SAME_OBSERVATIONS["lfl-table3"]].method)
    df = with_values(df, NORMALIZED, "lfl").assign(panel=task_panel(df))
    rng, reps = options.rng(), options.bootstrap_reps
    methods = list(ref["methods"]) + methods_first(set(df.method) - set(ref["methods"]))
    envs = list(ref["envs"]) + sorted(set(df.task) - set(ref["envs"]))
    rows = []
    for env in envs:
        panels = [p for p in dict.fromkeys(df[df.task == env].panel)] or [env]
        for panel in sorted(panels, key=lambda p: (p != env, p)):
            row, ours = [text(panel)], []  # ours: where this row's cells of IRL methods are
            for method in methods:
                part = df[(df.panel == panel) & (df.method == method)]
                if not is_reference([method])[0]:
                    ours.append(len(row))
                row.append((span_cell(part) or summary_cell(part.value, options.aggregate, rng, reps))
                           if len(part) else text("not run"))
                if method in ref["methods"]:
                    row.append(text(ref.get(env, {}).get(method, "n/a")))
            marked = mark_best([[row[j]] for j in ours], False, first=0)  # the row's best method
            for j, (cell,) in zip(ours, marked):
                row[j] = cell
            rows.append(row)
    paper = lambda m: f"{m} (paper{', copied' if m in ref.get('copied', ()) else ''})"  # noqa: E731
    columns = ["env"] + [c for m in methods for c in ([m, paper(m)] if m in ref["methods"] else [row_label(m)])]
    return [Table("table3", "LfL Table 3 (MuJoCo): normalized score, 0 = first observed policy, 1 = last",
                  tuple(columns), tuple(tuple(row) for row in rows),
                  notes=(f"Paper columns: {ref['source']}. {ref['note']} The best method of each row is marked; a "
                         "labelled row (a variant of its task's protocol) shares its task's reference rows.",)
                  + ((f"Same-protocol columns ({', '.join(sorted(borrowed))}): the {SAME_OBSERVATIONS['lfl-table3']} "
                      "board's trials on the same recorded learner batches (task, learner, protocol and profile), "
                      "with that board's seeds.",) if borrowed else ())
                  + reference_note(methods) + span_notes(df))] + [t for t in (trex_published(df, options),)
                                                                 if t is not None]


def trex_published(df: pd.DataFrame, options: ReportOptions) -> Table | None:
    """T-REX's published MuJoCo results beside our T-REX rows on the learner protocol. Not the same
    protocol (their demonstrations are ranked by the true return, their metric is a distance), so
    the table sets the two side by side per task and compares nothing: theirs as the ratio of
    T-REX's distance to the best demonstration's, per stage; ours as the normalized score (1 = the
    learner's last observed policy) and the seeds above that policy."""
    ref = PUBLISHED["trex-mujoco"]
    ours = df[(df.method == "trex") & (df.status == "ok") & (df.label == "")]
    if ours.empty:
        return None
    ours = ours.assign(value=values_of(ours, NORMALIZED, "lfl"))
    rng, reps = options.rng(), options.bootstrap_reps
    rows = []
    for task in list(ref["tasks"]) + sorted(set(ours.task) - set(ref["tasks"])):
        part = ours[ours.task == task]
        paper = ref.get(task)
        ratios = [t / d for t, d in zip(paper["trex"], paper["best_demo"])] if paper else []
        rows.append((text(task), text(" / ".join(f"{r:.2f}" for r in ratios) or "not reported"),
                     text(f"{sum(r > 1 for r in ratios)} of {len(ratios)}" if ratios else ""),
                     summary_cell(part.value, options.aggregate, rng, reps) if len(part) else text("not run"),
                     text(f"{int((part.score > part.learner_last_score).sum())}/{len(part)}" if len(part) else "")))
    return Table("published-trex-mujoco", f"{ref['name']} beside ours (different protocols: set side by side, not compared)",
                 ("task", "paper: T-REX / best demonstration, per stage", "paper: stages beaten",
                  "ours: T-REX, normalized (1 = the learner's last policy)", "ours: seeds > learner"),
                 tuple(rows), notes=(f"Published: {ref['source']}. Their metric: {ref['metric']}; their "
                                     f"demonstrations: {ref['demonstrations']}; their observer: PPO for "
                                     f"{ref['budget_steps']:,} steps on the learned reward.",))


BUDGET_KEYS = ("total_timesteps", "total_steps", "steps")  # a method config's budget, as its paper counts it


def budget_of(config_json: str) -> float:
    """A trial's method budget (generator steps or updates), NaN where the method has none of BUDGET_KEYS."""
    method = json.loads(config_json)["method"]
    return float(next((method[k] for k in BUDGET_KEYS if k in method), np.nan))


def published_comparison(df: pd.DataFrame, options: ReportOptions, key: str, *, fraction: bool) -> Table | None:
    """Our expert-demonstration trials beside a published table (published.toml[key]): per task,
    each method's value, ours then theirs, and our budget as a fraction of theirs. fraction: the
    published values are raw returns, shown as fractions of their expert's (ours: of our expert's);
    else both are imitation-normalized."""
    ref = PUBLISHED[key]
    expert = df[(sources(df) == "expert") & (df.status == "ok")]
    expert = expert[expert.method.isin(ref["methods"]) & expert.task.isin([t for t in ref if isinstance(ref[t], dict)])]
    if expert.empty:
        return None
    value = expert.score / expert.optimal_score if fraction else normalized(expert, "score", "expert")
    expert = expert.assign(value=value, budget=expert.config.map(budget_of))
    rng, reps = options.rng(), options.bootstrap_reps
    rows = []
    for task in dict.fromkeys(expert.task):
        row = [text(task)]
        for method in ref["methods"]:
            part = expert[(expert.task == task) & (expert.method == method)]
            row.append(summary_cell(part.value, options.aggregate, rng, reps) if len(part) else text("not run"))
            published = ref[task].get(method, "/")
            if fraction and isinstance(published, (int, float)):
                published = f"{published / ref[task]['expert']:.2f}"
            row.append(text(published))
        rows.append(tuple(row))
    ratios = {m: expert[expert.method == m].budget.median() / ref["budget_steps"] for m in dict.fromkeys(expert.method)}
    unit = ("fraction of the expert's return (ours: our committed expert's; theirs: their expert's)" if fraction
            else "imitation's normalized score, (score - random) / (expert - random)")
    episodes = sorted({int(json.loads(c)["learner"].get("episodes", 0)) for c in expert.config})
    columns = ["task"] + [c for m in ref["methods"] for c in (m, f"{m} (paper)")]
    return Table(f"published-{key}", f"Expert demonstrations beside {ref['name']}: {unit}",
                 tuple(columns), tuple(rows), notes=(
                     f"Published: {ref['source']}.",
                     "Our budget / theirs: " + ", ".join(f"{m} {r:.3g}" for m, r in ratios.items() if np.isfinite(r))
                     + f" (theirs: {ref['budget_steps']:,} steps a run)."
                     + (f" Their demonstrations: {ref['demonstrations']}." if "demonstrations" in ref else "")
                     + f" Ours: {' or '.join(map(str, episodes))} episode(s) of our expert's deterministic policy."))


def layout_iq_learn_table3(df: pd.DataFrame, options: ReportOptions) -> list[Table]:
    """IQ-Learn's Table 3 (one expert trajectory): ours beside the paper's, as fractions of each
    side's expert return, with the reference rows' board beside it."""
    table = published_comparison(df, options, "iq-learn-table3", fraction=True)
    return ([table] if table is not None else []) + [
        t() if callable(t) else t for t in layout_leaderboard(df, options)[:1]]


def layout_leaderboard(df: pd.DataFrame, options: ReportOptions) -> list[Table | Callable[[], Table]]:
    """Methods x observation sources: the chosen metric (by default the normalized score in each
    protocol's convention, then imitation's on every source so both conventions appear), the
    methods' own policies and the EPIC distance; n/a cells carry a numbered reason. A board over
    several task forms has a column per task form and source (with_board_columns)."""
    df = with_board_columns(with_sources(df))
    columns = learner_order(df.learner)
    notes: dict[str, int] = {}
    for reason in df[df.status == "n/a"].error.dropna().unique():
        notes.setdefault(str(reason), len(notes) + 1)
    note_lines = tuple(f"[{i}] n/a: {reason}" for reason, i in notes.items())
    ok = df[df.status == "ok"]
    if options.metric != NORMALIZED:
        shown = [(options.metric, options.normalization, f"{options.metric}")]
    else:
        shown = [(NORMALIZED, options.normalization, "normalized")]
        if options.normalization == "protocol":
            shown.append((NORMALIZED, "expert", "normalized-expert"))
        if "method_policy_score" in ok and ok.method_policy_score.notna().any():
            shown.append(("policy_normalized", options.normalization, "own-policy"))
        if "epic_distance" in ok and ok.epic_distance.notna().any():  # none on MuJoCo
            shown.append(("epic_distance", options.normalization, "epic"))
        if (ok.track == "mujoco").any():  # what each method costs, where it is minutes a trial
            shown += [("fit_s", options.normalization, "fit-cost"), ("total_s", options.normalization, "cost")]
    tables = []
    for metric, normalization, name in shown:
        opts = dataclasses.replace(options, metric=metric, normalization=normalization)
        part = with_values(ok, metric, normalization)
        if metric in ("policy_normalized", "fit_s"):  # the rows that have one: methods with a policy, a fit
            part = part[part.value.notna()]
        cols = [c for c in columns if (part[part.learner == c].value.notna() | part[part.learner == c].not_meaningful).any()]
        dropped = [c for c in columns if c not in cols and c in set(ok.learner)]
        extra = (f"no value for {', '.join(dropped)} in this convention (the first and last observed policies "
                 "are the same)",) if dropped and metric in (NORMALIZED, "policy_normalized") else ()
        # a table to compute, so that the report can compute the tables (the bootstraps) in parallel
        tables.append(functools.partial(matrix_table, part, name=name, title=metric_title(opts), columns=cols,
                                        options=opts, lower_is_better=metric in LOWER_IS_BETTER,
                                        notes=extra + note_lines))
    imitation = published_comparison(df, options, "imitation-benchmark", fraction=False)
    if imitation is not None:
        tables.append(imitation)
    na = df[df.status == "n/a"]
    if len(na):
        shown_methods = methods_first(na.method)
        cell = lambda m, c: na[(na.method == m) & (na.learner == c)]
        rows = [(text(row_label(m)), *[text(f"n/a [{notes[str(cell(m, c).error.iloc[0])]}]") if len(cell(m, c))
                                       else text("") for c in columns])
                for m in shown_methods]
        kinds = tuple("reference" if m in REFERENCE_ROWS else "" for m in shown_methods)
        tables.append(Table("not-applicable", "Cells a method cannot fill", tuple(["method"] + columns),
                            tuple(rows), notes=note_lines, row_kinds=kinds if any(kinds) else ()))
    return tables


def layout_generic(df: pd.DataFrame, options: ReportOptions) -> list[Callable[[], Table]]:
    df = with_sources(df)
    part = with_values(df, options.metric, options.normalization)
    columns = learner_order(part.learner)
    return [functools.partial(matrix_table, part, name="generic", title=metric_title(options), columns=columns,
                              options=options, lower_is_better=options.metric in LOWER_IS_BETTER)]


def swept_keys(df: pd.DataFrame) -> pd.DataFrame:
    """The config keys a sweep varied, one column each (e.g. "method.alpha_model"): the keys of
    the resolved configs that take more than one value within one learner's trials, seed aside."""
    configs = df.config.drop_duplicates()
    flat = pd.json_normalize([json.loads(c) for c in configs]).set_axis(configs.index)
    flat = flat.drop(columns=[c for c in ("suite", "label", "seed", "profile") if c in flat])
    learner = df.learner.loc[configs.index]
    keys = [c for c in flat if flat.groupby(learner)[c].nunique().gt(1).any()]
    # every trial's values, through its config text
    return df[["config"]].merge(flat[keys].assign(config=configs), on="config", how="left")[keys].set_axis(df.index)


def _format_value(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) else str(value)


def layout_ablation(df: pd.DataFrame, options: ReportOptions) -> list[Table]:
    """A sweep of one (or more) config keys: rows = the swept values, columns = learners; the
    normalized score and the observer's margin over the learner's last observed policy. Reference
    rows (REFERENCE_ROWS) are left out: a sweep compares a method's settings."""
    reference = is_reference(df.method)
    left_out = methods_first(df.method[reference]) if not reference.all() else []
    df = with_sources(df[~reference] if left_out else df)
    swept = swept_keys(df)
    keys = list(swept.columns)
    df = pd.concat([df.drop(columns=[k for k in keys if k in df]), swept], axis=1)
    df = df.assign(value=values_of(df, options.metric, "lfl" if options.normalization == "protocol"
                                   else options.normalization),
                   margin=df.score - df.learner_last_score)
    learners = learner_order(df.learner)
    rng, reps = options.rng(), options.bootstrap_reps
    groups = list(df.groupby(keys, sort=True)) if keys else [((), df)]
    value_rows, margin_rows, configs = [], [], []
    for point, part in groups:
        point = point if isinstance(point, tuple) else (point,)
        label = [text(_format_value(v)) for v in point] if keys else [text("-")]
        by_learner = dict(tuple(part.groupby("learner", sort=False)))
        value_rows.append(label + [summary_cell(by_learner[l].value, options.aggregate, rng, reps)
                                   if l in by_learner else text("") for l in learners])
        margin_rows.append(label + [summary_cell(by_learner[l].margin, options.aggregate, rng, reps)
                                    if l in by_learner else text("") for l in learners])
        configs.append(row_config(part.groupby("learner", sort=False).config.first()))
    wins = [{learner: f"{int((g.margin > 0).sum())}/{len(g)}" for learner, g in part.groupby("learner")}
            for _, part in groups]
    head = tuple(keys or ["point"]) + tuple(learners)
    source_of = learner_sources(df)
    protocols = tuple("" for _ in (keys or ["point"])) + tuple(source_of[l] for l in learners)
    statistic = "IQM [95% bootstrap interval]" if options.aggregate == "iqm" else "mean ± std"
    value_title = (metric_title(options) if options.metric != NORMALIZED
                   else "Normalized score (0 = first observed learner policy, 1 = last)")
    return [Table("ablation-value", f"{value_title}, {statistic} (n)", head,
                  tuple(mark_best(value_rows, options.metric in LOWER_IS_BETTER, first=len(head) - len(learners))),
                  notes=(f"Swept: {', '.join(keys) or 'nothing (one point)'}.",)
                  + ((f"Reference rows left out: {', '.join(left_out)}.",) if left_out else ()),
                  column_protocols=protocols,
                  row_configs=tuple(configs), keys=len(head) - len(learners)),
            Table("ablation-margin", f"Observer score - learner's last observed score, {statistic} (n); "
                                     "seeds where the observer beats the learner in the notes", head,
                  tuple(mark_best(margin_rows, False, first=len(head) - len(learners))),
                  notes=tuple(f"{'/'.join(map(_format_value, p if isinstance(p, tuple) else (p,)))}: "
                              + ", ".join(f"{l} {win[l]}" for l in learners if l in win)
                              for (p, _), win in zip(groups, wins)),
                  column_protocols=protocols, row_configs=tuple(configs), keys=len(head) - len(learners))]


SECTION_ORDER = ["leaderboard", "lfl-table1", "lfl-table2", "lfl-table3", "iq-learn-table3", "", "ablation"]
LAYOUTS = {"lfl-table1": layout_lfl_table1, "lfl-table2": layout_lfl_table2, "lfl-table3": layout_lfl_table3,
           "leaderboard": layout_leaderboard, "ablation": layout_ablation, "iq-learn-table3": layout_iq_learn_table3}


def sections(df: pd.DataFrame, layout_of: dict[str, str], options: ReportOptions = ReportOptions(),
             processes: int = 0) -> list[Section]:
    """One Section per (suite, profile) in `df`: budgets never mix in one table. Failed and
    timed-out trials are left out and counted; n/a cells are shown (leaderboard) with their reason.
    The tables a layout leaves to compute (callables) and the figures are tasks, run in `processes`
    forked processes (with none, here, one after the other)."""
    if options.figures:
        from benchmark import figures
    df = with_sources(df)
    # the leaderboard first, then the paper's tables, then anything else; ablations last
    rank = lambda key: (SECTION_ORDER.index(layout_of.get(key[0], "")) if layout_of.get(key[0], "") in SECTION_ORDER
                        else SECTION_ORDER.index(""), key)
    plans, plan_seeds = [], {}
    for (suite, profile), part in sorted(df.groupby(["suite", "profile"], sort=True), key=lambda g: rank(g[0])):
        layout = layout_of.get(suite, "")
        failed = int(part.status.isin(["failed", "timeout"]).sum())
        title = f"{suite} (profile {profile})"  # budgets are part of what a number means
        note = f"{failed} failed or timed-out trial(s) left out." if failed else ""
        shown = part[part.status.isin(["ok", "n/a"])] if layout == "leaderboard" else part[part.status == "ok"]
        if layout in SAME_OBSERVATIONS:
            shown = pd.concat([shown, same_observations(df, shown, SAME_OBSERVATIONS[layout])])
        shown = in_suite_order(shown, suite, profile)
        if layout != "ablation":  # an ablation's rows are its swept values: differences by design
            shown = split_variants(shown)
        note = " ".join(x for x in (note, provenance_note(shown)) if x)
        finished = bool((shown.status == "ok").any())
        jobs = (figures.jobs_for_layout(layout, shown[shown.status == "ok"], options, f"{suite}-{profile}")
                if options.figures and finished else [])
        tables = LAYOUTS.get(layout, layout_generic)(shown, options) if finished else []
        plans.append((suite, profile, title, note, finished, tables, jobs))
        plan_seeds[suite, profile] = (sorted(int(x) for x in shown[shown.status == "ok"].seed.unique()),
                                      made_text(shown))
    # tasks: the figures to draw and the tables still to compute, the longer first so that the
    # shorter fill in at the end: IQM tables (a bootstrap per cell) before the figures, others after
    figure_tasks = [job.run for *_, jobs in plans for job in jobs]
    table_tasks = [t for *_, tables, _ in plans for t in tables if callable(t)]
    iqm_first = options.aggregate == "iqm"
    results = forked.start(table_tasks + figure_tasks if iqm_first else figure_tasks + table_tasks, processes)()
    computed = iter(results if iqm_first else results[len(figure_tasks):])
    drawn = iter(results[len(table_tasks):] if iqm_first else results)
    out = []
    for suite, profile, title, note, finished, tables, jobs in plans:
        seeds, made = plan_seeds[suite, profile]
        section_tables = tuple(with_profile_note(next(computed) if callable(t) else t, profile, seeds, made)
                               for t in tables)
        section_figures = tuple(figure for _ in jobs if (figure := next(drawn)) is not None)
        out.append(Section(suite, profile, title, section_tables, section_figures, note=note) if finished else
                   Section(suite, profile, title, (), note=(note + " No finished trials.").strip()))
    return out


PROFILE_NOTES = {
    "smoke": "Profile smoke: budgets of seconds, for tests: these numbers are not results, and the paper's columns "
             "beside them are not comparable.",
    "quick": "Profile quick: our budgets are a fraction of the paper's (the suite file gives each); the paper's "
             "columns are at the paper's budgets.",
}


def with_profile_note(table: Table, profile: str, seeds: list[int] = (), made: str = "") -> Table:
    """Every table says its profile, seeds, and the code and dates of its records; one with a
    paper's column beside ours at another profile than the paper's says what that means."""
    notes = (f"Profile {profile}; {seed_text(seeds)}{'; ' + made if made else ''}.",)
    if profile != "paper" and any("(paper" in column for column in table.columns):
        notes += (PROFILE_NOTES.get(profile, f"Profile {profile}: not the paper's budgets; the paper's columns are "
                                             "at its own."),)
    return dataclasses.replace(table, notes=(*notes, *table.notes))


def seed_text(seeds: list[int]) -> str:
    if not seeds:
        return "no seeds"
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        span = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    else:
        span = ", ".join(map(str, seeds))
    return f"{len(seeds)} seed{'s' * (len(seeds) != 1)} ({span})"


def made_text(df: pd.DataFrame) -> str:
    """'records of commit abc1234567, 2026-12-01 to 2026-12-06' for a section's records."""
    parts = []
    if "git_commit" in df and df.git_commit.notna().any():
        commits = df.git_commit.dropna().unique()
        parts.append(f"records of commit {str(commits[0])[:10]}" if len(commits) == 1
                     else f"records of {len(commits)} commits")
    if "created_at" in df and df.created_at.notna().any():
        days = sorted({str(t)[:10] for t in df.created_at.dropna()})
        parts.append(days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}")
    return ", ".join(parts)


def provenance_note(df: pd.DataFrame) -> str:
    """The code versions a section's records come from, where there is more than one."""
    if "git_commit" not in df or df.empty:
        return ""
    counts = df.git_commit.fillna("unknown").value_counts()
    if len(counts) < 2:
        return ""
    return (f"Records of {len(counts)} code versions: "
            + ", ".join(f"{str(commit)[:10]} ({n})" for commit, n in counts.items()) + ".")


# A paper table that shows, beside the methods its own suite runs, the methods a board ran on the same
# observations: Table 3's same-protocol columns come from the MuJoCo board's learner cells.
SAME_OBSERVATIONS = {"lfl-table3": "mujoco"}


def observation_key(config_json: str) -> str:
    """What a trial's observations and evaluation depend on beside the seed: task, learner, protocol."""
    config = json.loads(config_json)
    return json.dumps([config[k] for k in ("task", "learner", "protocol", "profile")], sort_keys=True)


def same_observations(df: pd.DataFrame, part: pd.DataFrame, suite: str) -> pd.DataFrame:
    """The finished, unlabelled trials of `suite` on the same observations (task, learner, protocol and
    profile) as `part`'s, of the methods `part` has not run."""
    board = df[(df.suite == suite) & (df.status == "ok") & (df.label == "") & ~df.method.isin(set(part.method))]
    if board.empty or part.empty:
        return board.iloc[:0]
    keys = set(part.config.map(observation_key))
    return board[board.config.map(observation_key).isin(keys)]


def summary(df: pd.DataFrame) -> str:
    """The end-of-run summary: one row per (label, learner, method)."""
    from benchmark.tables import markdown_grid

    ok = df[df.status == "ok"]
    if ok.empty:
        return "no finished trials"
    rows = []
    labelled = bool((ok.label != "").any())  # a label column only where some trial has one
    for (label, learner, method), g in ok.groupby(["label", "learner", "method"], sort=False):
        cell = lambda v, d=2: Cell(float(v.mean()), spread=float(v.std(ddof=0)) if len(v) > 1 else None, digits=d)
        rows.append((*([text(label or "-")] if labelled else []), text(learner), text(method), text(len(g)),
                     cell(g.score), cell(g.learner_last_score), cell(g.regret, 3), cell(g.normalized_score)))
    names = ("learner", "method", "n", "observer score", "learner last score", "regret", "normalized")
    table = Table("summary", "Summary", ("label", *names) if labelled else names, tuple(rows), keys=2 + labelled)
    return markdown_grid(table)
