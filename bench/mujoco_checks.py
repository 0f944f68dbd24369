"""The MuJoCo spine's acceptance figures, read from a store's mujoco-references records:

1. the learners learn: per task, each seed's observed scores from the first to the last observed
   update (how many seeds rise);
2. the expert beats the learner's last observed policy, per task and seed;
3. oracle against bc on the learner protocol (and on the demonstrations protocol), per task: the
   mean score of each and the seeds where oracle is higher;
4. where the time went: the records' per-phase seconds (dataset: the learner's recording or the
   expert's demonstrations, with the expert's training where a trial trained it; evaluate: the
   observer's training and scoring) and, with --experts DIR, the experts' training seconds.

    .venv/bin/python bench/mujoco_checks.py --store results [--experts ~/.cache/irlbench/experts]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmark.store import ResultsStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="results")
    parser.add_argument("--suite", default="mujoco-references")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--experts", help="the experts' cache directory (their JSON files hold the training time)")
    args = parser.parse_args(argv)
    records = [r for r in ResultsStore(Path(args.store)).records()
               if r["suite"] == args.suite and r["profile"] == args.profile and r["status"] == "ok"]
    if not records:
        print(f"no finished {args.suite} records at the {args.profile} profile in {args.store}")
        return 1
    form = lambda r: r["task"] + (" (fixed horizon)" if r["config"]["task"].get("fixed_horizon") else "")  # noqa: E731
    print(f"{len(records)} finished trials of {args.suite} ({args.profile}), "
          f"seeds {sorted({r['seed'] for r in records})}\n")

    print("## The learners learn (learner protocol): observed scores, first -> last, per seed\n")
    print("| task | per seed (first -> last) | seeds rising | expert | expert > last (seeds) |")
    print("|---|---|---|---|---|")
    learners = {}
    for r in records:
        if r["learner"] == "ppo":
            learners[(r["task"], r["seed"])] = (r["artifacts"]["learner_curve"], r["metrics"]["optimal_score"])
    for task in dict.fromkeys(t for t, _ in learners):
        seeds = sorted(s for t, s in learners if t == task)
        curves = [learners[(task, s)][0] for s in seeds]
        expert = learners[(task, seeds[0])][1]
        rising = sum(c[-1] > c[0] for c in curves)
        beaten = sum(expert > c[-1] for c in curves)
        pairs = ", ".join(f"{c[0]:.1f} -> {c[-1]:.1f}" for c in curves)
        print(f"| {task} | {pairs} | {rising} of {len(seeds)} | {expert:.1f} | {beaten} of {len(seeds)} |")

    print("\n## oracle against bc: mean score (seeds where oracle is higher)\n")
    print("| task form | protocol | oracle | bc | oracle > bc | oracle normalized (LfL / imitation) |")
    print("|---|---|---|---|---|---|")
    cells = defaultdict(dict)
    for r in records:
        cells[(form(r), r["learner"])].setdefault(r["method"], {})[r["seed"]] = r["metrics"]
    for (task, learner), methods in cells.items():
        oracle, bc = methods.get("oracle", {}), methods.get("bc", {})
        common = sorted(set(oracle) & set(bc))
        wins = sum(oracle[s]["score"] > bc[s]["score"] for s in common)
        mean = lambda d, k: np.nanmean([np.nan if m[k] is None else m[k] for m in d.values()]) if d else np.nan  # noqa: E731
        print(f"| {task} | {'learner' if learner == 'ppo' else 'demonstrations'} | {mean(oracle, 'score'):.1f} | "
              f"{mean(bc, 'score'):.1f} | {wins} of {len(common)} | {mean(oracle, 'normalized_score'):.2f} / "
              f"{mean(oracle, 'normalized_score_expert'):.2f} |")

    print("\n## Where the time went (seconds of trial processes, summed)\n")
    phases = defaultdict(float)
    for r in records:
        phases[("learner recording" if r["learner"] == "ppo" else "expert demonstrations", "dataset")] += \
            r["timings"].get("dataset_s", 0.0)
        phases[(f"observer ({r['method']})", "evaluate")] += r["timings"].get("evaluate_s", 0.0)
    total = sum(phases.values())
    for (name, _), seconds in phases.items():
        print(f"- {name}: {seconds:.0f} s ({seconds / total:.0%}; with the training of any expert the trial was "
              "first to need)" if _ == "dataset" else f"- {name}: {seconds:.0f} s ({seconds / total:.0%})")
    print(f"- total: {total:.0f} s of trial time")
    if args.experts:
        print("\nexperts in the cache (training seconds):")
        for path in sorted(Path(args.experts).expanduser().glob("*.json")):
            entry = json.loads(path.read_text())
            print(f"- {entry['spec']['env']}, {entry['spec']['steps']:,} steps: {entry.get('train_s', float('nan')):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
