"""The MuJoCo board's acceptance figures, read from a store's records of a board suite:

1. every cell's status (ok, n/a with its reason, failed) and seed count;
2. per source and task, each method's normalized score (LfL's on the learner source, imitation's on
   expert demonstrations), mean ± std over seeds, and the seeds whose observer beats the bc row of
   the same seed (and, on the learner source, the learner's last observed policy);
3. on expert demonstrations, per method: the tasks whose mean beats the bc row's mean;
4. where the trial time went, per method and source, from the records' timers: the dataset
   (recorded once per task, learner and seed, then read from the cache), the fit, and the
   observer's training and scoring; with the span of the records' timestamps.

    .venv/bin/python bench/mujoco_board_checks.py --store results [--suite mujoco] [--profile quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from benchmark.store import ResultsStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="results")
    parser.add_argument("--suite", default="mujoco")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args(argv)
    records = [r for r in ResultsStore(Path(args.store)).records()
               if r["suite"] == args.suite and r["profile"] == args.profile and not r["label"]
               and r["status"] in ("ok", "n/a")]
    if not records:
        print(f"no {args.suite} records at the {args.profile} profile in {args.store}")
        return 1
    print("1. statuses:", dict(Counter(r["status"] for r in records)))
    for reason, n in Counter(r["error"] for r in records if r["status"] != "ok").items():
        print(f"   {n} x {reason}")
    cells: dict[tuple[str, str], dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for r in records:
        if r["status"] == "ok":
            cells[(r.get("source") or "", r["task"])][r["method"]][r["seed"]] = r["metrics"]
    key = {"sequence": "normalized_score", "expert": "normalized_score_expert"}
    beats_bc: dict[str, list[str]] = defaultdict(list)
    print("2. normalized score, mean ± std (n); seeds > bc; seeds > the learner's last observed policy")
    for (source, task), methods in sorted(cells.items()):
        bc = methods.get("bc", {})
        print(f"   {task} ({source}): bc {summary([m[key[source]] for m in bc.values()])}")
        for method, seeds in sorted(methods.items()):
            if method == "bc":
                continue
            values = [m[key[source]] for m in seeds.values()]
            over_bc = sum(m["score"] > bc[s]["score"] for s, m in seeds.items() if s in bc)
            line = f"      {method:9s} {summary(values)}  > bc {over_bc}/{len(seeds)}"
            if source == "sequence":
                line += f"  > learner {sum(m['score'] > m['learner_last_score'] for m in seeds.values())}/{len(seeds)}"
            if "method_policy_score" in next(iter(seeds.values())):
                own = [lfl_or_expert(m, source, "method_policy_score") for m in seeds.values()]
                line += f"  own policy {summary(own)}"
            print(line)
            if source == "expert" and bc and np.mean(values) > np.mean([m[key[source]] for m in bc.values()]):
                beats_bc[method].append(task)
    print("3. expert demonstrations: tasks where the method's mean beats bc's")
    for method in sorted({m for (source, _), ms in cells.items() if source == "expert" for m in ms} - {"bc"}):
        print(f"   {method:9s} {len(beats_bc[method])}: {', '.join(beats_bc[method]) or '-'}")
    cost(records)
    oracle_above_clone(cells)
    return 0


def oracle_above_clone(cells) -> None:
    """The evaluation separates methods only if the oracle (the observer on the true reward) ends
    above the clone it starts from: per task form, oracle - bc in mean true return, the standard
    error of that difference over the seeds both have, and whether it exceeds it."""
    print("5. oracle - bc, mean true return (standard error of the paired difference; seeds oracle > bc)")
    above, separated = defaultdict(int), defaultdict(int)
    for (source, task), methods in sorted(cells.items()):
        oracle, bc = methods.get("oracle", {}), methods.get("bc", {})
        seeds = sorted(set(oracle) & set(bc))
        if not seeds:
            continue
        diff = np.array([oracle[s]["score"] - bc[s]["score"] for s in seeds])
        se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        above[source] += diff.mean() >= 0
        separated[source] += diff.mean() > se
        print(f"   {task:12s} ({source}): {diff.mean():+9.1f} (se {se:7.1f}; {int((diff > 0).sum())}/{len(diff)})"
              f"{'  beyond its standard error' if diff.mean() > se else ''}")
    for source in sorted(above):
        forms = sum(1 for (s, _), m in cells.items() if s == source and "oracle" in m and "bc" in m)
        print(f"   {source}: oracle >= bc on {above[source]} of {forms} task forms, above by more than the "
              f"standard error on {separated[source]}")


PHASES = ("dataset_s", "fit_s", "evaluate_s", "total_s")


def cost(records: list[dict]) -> None:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["method"], record.get("source") or "")].append(record)
    print("4. median seconds a trial (one core)")
    print(f"   | method | source | n | {' | '.join(p[:-2] for p in PHASES)} | fit share |")
    print("   | --- | --- | --- |" + " --- |" * (len(PHASES) + 1))
    total = 0.0
    for (method, source), part in sorted(groups.items()):
        seconds = {p: np.array([r["timings"].get(p, 0.0) for r in part]) for p in PHASES}
        total += seconds["total_s"].sum()
        share = seconds["fit_s"].sum() / max(seconds["total_s"].sum(), 1e-9)
        print(f"   | {method} | {source} | {len(part)} | "
              + " | ".join(f"{np.median(seconds[p]):.1f}" for p in PHASES) + f" | {share:.0%} |")
    stamps = sorted(dt.datetime.fromisoformat(r["created_at"]) for r in records)
    print(f"   trial time {total / 3600:.2f} h in all; records from {stamps[0]:%H:%M} to {stamps[-1]:%H:%M} UTC "
          f"({(stamps[-1] - stamps[0]).total_seconds() / 3600:.2f} h between the first and the last)")


def lfl_or_expert(metrics: dict, source: str, score: str) -> float:
    """A score in the source's normalization (LfL's for a learner, imitation's for an expert)."""
    if source == "expert":
        low, high = metrics["random_score"], metrics["optimal_score"]
    else:
        low, high = metrics["learner_first_score"], metrics["learner_last_score"]
    return (metrics[score] - low) / (high - low) if high != low else float("nan")


def summary(values: list[float]) -> str:
    x = np.asarray(values, dtype=float)
    return f"{x.mean():.2f} ± {x.std():.2f} ({len(x)})" if len(x) else "-"


if __name__ == "__main__":
    raise SystemExit(main())
