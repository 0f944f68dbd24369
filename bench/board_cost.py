"""Where a board's trial time goes, per method and source, from a store's records (the real runs'
timers): the dataset (recorded once per task, learner and seed, then read from the cache), the
method's fit, and the observer's training and scoring; with the wall time of the records' span.

    .venv/bin/python bench/board_cost.py --store results [--suite mujoco] [--profile quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmark.store import ResultsStore

PHASES = ("dataset_s", "fit_s", "evaluate_s", "total_s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="results")
    parser.add_argument("--suite", default="mujoco")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args(argv)
    records = [r for r in ResultsStore(Path(args.store)).records()
               if r["suite"] == args.suite and r["profile"] == args.profile and r["status"] in ("ok", "n/a")]
    if not records:
        print(f"no finished {args.suite} records at the {args.profile} profile in {args.store}")
        return 1
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["method"], record.get("source") or "")].append(record)
    print(f"{args.suite} ({args.profile}): {len(records)} records; median seconds a trial (one core)")
    print(f"| method | source | n | {' | '.join(p[:-2] for p in PHASES)} | fit share |")
    print("| --- | --- | --- |" + " --- |" * (len(PHASES) + 1))
    total = 0.0
    for (method, source), part in sorted(groups.items()):
        seconds = {p: np.array([r["timings"].get(p, 0.0) for r in part]) for p in PHASES}
        total += seconds["total_s"].sum()
        share = seconds["fit_s"].sum() / max(seconds["total_s"].sum(), 1e-9)
        print(f"| {method} | {source} | {len(part)} | "
              + " | ".join(f"{np.median(seconds[p]):.1f}" for p in PHASES) + f" | {share:.0%} |")
    stamps = sorted(dt.datetime.fromisoformat(r["created_at"]) for r in records)
    print(f"trial time {total / 3600:.2f} h in all; records from {stamps[0]:%H:%M} to {stamps[-1]:%H:%M} UTC "
          f"({(stamps[-1] - stamps[0]).total_seconds() / 3600:.2f} h between the first and the last)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
