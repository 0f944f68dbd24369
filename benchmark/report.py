"""Markdown tables from the results store: the paper layouts of LfL Tables 1 and 2, the
leaderboard, ablations (a sweep's values x learners) and a generic methods x learners table for
any other suite."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.normalization import expert_normalized, lfl_normalized

PUBLISHED = tomllib.loads((Path(__file__).parent / "published.toml").read_text())
GRID_LEARNER_ORDER = ["spi", "svi", "q_learning", "random_improvements", "gpomdp"]


def mean_std(values: pd.Series, digits: int = 2) -> str:
    values = values.dropna()
    if len(values) == 0:
        return "n/a"
    if len(values) == 1:
        return f"{values.iloc[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=0):.{digits}f}"


def markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _task_variant(config_json: str) -> str:
    task = json.loads(config_json)["task"]
    return "stochastic" if task.get("stochastic") else "deterministic"


def table_lfl_table1(df: pd.DataFrame) -> str:
    out = []
    for variant, part in df.groupby(df["config"].map(_task_variant), sort=False):
        first = part.iloc[0]
        ref = PUBLISHED["lfl-table1"] if variant == "deterministic" else {}  # the paper has no stochastic row
        rows = [
            ("optimal", "r", "pi*_soft", first.optimal_score, 0.0, ref.get("optimal", {})),
            ("learner", "r", "pi1", first.learner_first_score, first.optimal_score - first.learner_first_score,
             ref.get("learner_first", {})),
            ("learner", "r", "pi2", first.learner_last_score, first.optimal_score - first.learner_last_score,
             ref.get("learner_last", {})),
        ]
        names = {"theorem2": "r_bar_1->2 (Theorem 2)", "state_only": "r_bar_phi (state-only regression)"}
        for label, group in part.groupby("label", sort=False):
            rows.append(("observer", names.get(label, label), "pi*_soft", group.score.mean(), group.regret.max(),
                         ref.get(label, {})))
        table = pd.DataFrame(
            [(a, r, p, f"{s:.2f}", f"{g:.1e}" if g < 1e-3 else f"{g:.2f}",
              f"{pub.get('score', 'n/a')}", f"{pub.get('regret', 'n/a')}") for a, r, p, s, g, pub in rows],
            columns=["agent", "reward used", "policy", "score", "regret", "paper score", "paper regret"])
        out.append(f"### LfL Table 1, {variant} gridworld (n = {part.seed.nunique()} seed(s))\n\n{markdown(table)}")
    return "\n\n".join(out) + f"\n\nPaper columns: {PUBLISHED['lfl-table1']['source']} (deterministic grid only)."


def table_lfl_table2(df: pd.DataFrame) -> str:
    ref = PUBLISHED["lfl-table2"]
    rows = []
    for learner in sorted(df.learner.unique(), key=lambda n: GRID_LEARNER_ORDER.index(n)
                          if n in GRID_LEARNER_ORDER else 99):
        part = df[df.learner == learner]
        pub = ref.get(learner, {})
        wins = (part.score > part.learner_last_score).mean()
        rows.append((learner, pub.get("k", ""), len(part), mean_std(part.learner_last_score),
                     mean_std(part.score), f"{mean_std(part.score - part.learner_last_score)}",
                     f"{100 * wins:.0f}%", pub.get("learner", "n/a"), pub.get("observer", "n/a")))
    table = pd.DataFrame(rows, columns=["learner", "K", "n", "learner score", "observer score",
                                        "observer - learner", "seeds observer > learner",
                                        "paper learner", "paper observer"])
    return (f"### LfL Table 2 (mean ± std over seeds)\n\n{markdown(table)}\n\n"
            f"Paper columns: {ref['source']}.")


def table_generic(df: pd.DataFrame) -> str:
    pivot = df.pivot_table(index="method", columns="learner", values="normalized_score",
                           aggfunc=lambda s: mean_std(s))
    return "### Normalized score (0 = first observed learner policy, 1 = last)\n\n" + markdown(
        pivot.reset_index())


def _matrix(df: pd.DataFrame, metric: str, learners: list[str], notes: dict[str, int]) -> pd.DataFrame:
    """Methods x learners, each cell mean ± std (n) of `metric`, or n/a with a footnote number."""
    rows = []
    for method in sorted(df.method.unique()):
        row = {"method": method}
        for learner in learners:
            cell = df[(df.method == method) & (df.learner == learner)]
            ok = cell[cell.status == "ok"][metric]
            if len(ok):
                row[learner] = f"{mean_std(ok)} ({len(ok)})"
            elif len(cell):
                reason = str(cell.error.iloc[0])
                row[learner] = f"n/a [{notes.setdefault(reason, len(notes) + 1)}]"
            else:
                row[learner] = ""
        rows.append(row)
    return pd.DataFrame(rows)


def with_policy_normalized(df: pd.DataFrame) -> pd.DataFrame:
    """Adds `policy_normalized`: the method's own policy score under its protocol's normalization
    (expert demonstrations: uniform = 0, optimal = 1; a learner's sequence: first = 0, last = 1)."""
    return df.assign(policy_normalized=np.where(
        df.learner == "expert", expert_normalized(df.method_policy_score, df.random_score, df.optimal_score),
        lfl_normalized(df.method_policy_score, df.learner_first_score, df.learner_last_score)))


def table_leaderboard(df: pd.DataFrame) -> str:
    """One table per protocol: the learner's sequence (LfL normalization: 0 = first observed
    policy, 1 = last) and expert demonstrations (imitation's: 0 = uniform policy, 1 = optimal)."""
    order = lambda names: sorted(names, key=lambda n: GRID_LEARNER_ORDER.index(n) if n in GRID_LEARNER_ORDER else 99)
    sequence = order([n for n in df.learner.unique() if n != "expert"])
    notes: dict[str, int] = {}
    parts = []
    if sequence:
        parts.append("### Learning from a learner: normalized score (0 = first observed policy, 1 = last), "
                     "mean ± std (n)\n\n" + markdown(_matrix(df, "normalized_score", sequence, notes)))
    if "expert" in df.learner.unique():
        parts.append("### Expert demonstrations: normalized score (0 = uniform policy, 1 = optimal), mean ± std (n)"
                     "\n\n" + markdown(_matrix(df, "normalized_score_expert", ["expert"], notes)))
    if "method_policy_score" in df and df.method_policy_score.notna().any():
        own = with_policy_normalized(df)
        parts.append("### The method's own policy (for methods that train one), normalized as above: the "
                     "sequence columns 0 = first observed policy, 1 = last; expert 0 = uniform, 1 = optimal; "
                     "mean ± std (n)\n\n" + markdown(_matrix(own[own.method_policy_score.notna()],
                                                               "policy_normalized", sequence + (
                                                                   ["expert"] if "expert" in df.learner.unique()
                                                                   else []), notes)))
    parts.append("### EPIC distance to the true reward (0 = equal up to shaping and scale), mean ± std (n)\n\n"
                 + markdown(_matrix(df, "epic_distance", sequence + (["expert"] if "expert" in df.learner.unique()
                                                                      else []), notes)))
    if notes:
        parts.append("\n".join(f"[{i}] n/a: {reason}" for reason, i in notes.items()))
    return "\n\n".join(parts)


def swept_keys(df: pd.DataFrame) -> pd.DataFrame:
    """The config keys a sweep varied, one column each (e.g. "method.alpha_model"): the keys of
    the resolved configs that take more than one value within one learner's trials, seed aside."""
    flat = pd.json_normalize([json.loads(c) for c in df.config]).set_axis(df.index)
    flat = flat.drop(columns=[c for c in ("suite", "label", "seed", "profile") if c in flat])
    return flat[[c for c in flat if flat.groupby(df.learner)[c].nunique().gt(1).any()]]


def _format_value(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float, np.number)) and not isinstance(value, bool) else str(value)


def _by_swept_value(df: pd.DataFrame, keys: list[str], learners: list[str], cell) -> pd.DataFrame:
    """One row per swept value (sorted), one column per learner, `cell(trials)` in each."""
    rows = []
    for point, part in (df.groupby(keys, sort=True) if keys else [((), df)]):
        row = {key: _format_value(value) for key, value in zip(keys, point)} if keys else {"point": "-"}
        for learner in learners:
            trials = part[part.learner == learner]
            row[learner] = cell(trials) if len(trials) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def table_ablation(df: pd.DataFrame) -> str:
    """A sweep of one (or more) config keys: rows = the swept values, columns = learners; the
    LfL-normalized score and the observer's margin over the learner's last observed policy."""
    swept = swept_keys(df)
    keys = list(swept.columns)
    df = pd.concat([df.drop(columns=[k for k in keys if k in df]), swept], axis=1)
    learners = sorted(df.learner.unique(), key=lambda n: GRID_LEARNER_ORDER.index(n)
                      if n in GRID_LEARNER_ORDER else 99)

    def normalized(trials: pd.DataFrame) -> str:
        return f"{mean_std(trials.normalized_score)} ({trials.normalized_score.notna().sum()})"

    def margin(trials: pd.DataFrame) -> str:
        gain = trials.score - trials.learner_last_score
        return f"{mean_std(gain)} ({int((gain > 0).sum())}/{len(gain)})"

    swept_text = ", ".join(keys) or "nothing (one point)"
    return (f"Swept: {swept_text}.\n\n"
            "### Normalized score (0 = first observed learner policy, 1 = last), mean ± std (n)\n\n"
            + markdown(_by_swept_value(df, keys, learners, normalized))
            + "\n\n### Observer score - learner's last observed score, mean ± std "
              "(seeds where the observer beats the learner / n)\n\n"
            + markdown(_by_swept_value(df, keys, learners, margin)))


LAYOUTS = {"lfl-table1": table_lfl_table1, "lfl-table2": table_lfl_table2, "leaderboard": table_leaderboard,
           "ablation": table_ablation}


def report(df: pd.DataFrame, layout_of: dict[str, str]) -> str:
    """One section per suite present in `df` (records with status ok)."""
    sections = []
    for (suite, profile), part in df.groupby(["suite", "profile"], sort=True):
        layout = layout_of.get(suite, "")
        failed = int(part.status.isin(["failed", "timeout"]).sum())
        # budgets never mix in one table: a suite run at two profiles gets one section per profile
        several = df[df.suite == suite].profile.nunique() > 1
        header = f"## {suite}" + (f" (profile {profile})" if several else "") + (
            f" ({failed} failed or timed-out trial(s) left out)" if failed else "")
        shown = part[part.status.isin(["ok", "n/a"])] if layout == "leaderboard" else part[part.status == "ok"]
        body = LAYOUTS.get(layout, table_generic)(shown) if len(shown) else "no finished trials"
        sections.append(f"{header}\n\n{body}")
    return "\n\n".join(sections)


def summary(df: pd.DataFrame) -> str:
    """The end-of-run summary: one row per (label, learner, method)."""
    ok = df[df.status == "ok"]
    if ok.empty:
        return "no finished trials"
    rows = []
    for (label, learner, method), g in ok.groupby(["label", "learner", "method"], sort=False):
        rows.append((label or "-", learner, method, len(g), mean_std(g.score), mean_std(g.learner_last_score),
                     mean_std(g.regret, 3), mean_std(g.normalized_score)))
    return markdown(pd.DataFrame(rows, columns=["label", "learner", "method", "n", "observer score",
                                                "learner last score", "regret", "normalized"]))

