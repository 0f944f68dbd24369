"""The tabular track does not move: re-run trials with the current code and compare their metric
dicts, bit for bit, with a reference: the committed records (--store) or the same trials run by
another checkout of the code on this machine (--code DIR, e.g. a `git worktree` of an older commit).

    python bench/tabular_equality.py [--store results | --code DIR] [--seeds N] SUITE ...

Trials are matched on (suite, label, task config, learner, method, seed, profile), not on the trial id,
so a change of the config schema (a new field) does not hide a change of the numbers. Floating
point results depend on the BLAS kernels of the machine that computed them: a record made on
another CPU can differ in the last bits, so compare code with code on one machine (--code).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.backends import match_threads
from benchmark.config import expand, load_suite
from benchmark.pipeline import run_trial


def identity(config: dict) -> str:
    """A trial's cell without its trial id; the task's whole config (two cells of one task name may
    differ in its settings: lfl-table1's deterministic and stochastic gridworlds)."""
    return json.dumps([config["suite"], config["label"], config["task"], config["learner"]["name"],
                       config["method"]["name"], config["seed"], config["profile"]], sort_keys=True)


def outcome(record: dict) -> dict:
    """Status and metrics, a NaN as None (the store writes NaN as null)."""
    nan_free = {k: None if isinstance(v, float) and v != v else v for k, v in record["metrics"].items()}
    return {"status": record["status"], "metrics": nan_free}


def run_all(suites: list[str], seeds: int | None, profile: str) -> dict[str, dict]:
    """identity -> {"status", "metrics"} of every trial, run in this process on one thread."""
    match_threads(1)  # as every backend runs a one-CPU trial
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for name in suites:
            suite = load_suite(name)
            for config in expand(suite, seeds=seeds or suite.seeds, profile=profile):
                record = run_trial(config, cache_dir=Path(cache))
                out[identity(config)] = outcome(record)
    return out


def committed(store: str) -> dict[str, dict]:
    from benchmark.store import ResultsStore

    return {identity(r["config"]): outcome(r) for r in ResultsStore(Path(store)).records(artifacts=False)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="+")
    parser.add_argument("--store", default="results", help="compare with this store's records (default)")
    parser.add_argument("--code", help="compare with the same trials run by the code in this directory")
    parser.add_argument("--seeds", type=int, default=None, help="the first N seeds of each suite (default: all)")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # internal: write this code's results and stop
    args = parser.parse_args(argv)
    if args.dump:
        Path(args.dump).write_text(json.dumps(run_all(args.suites, args.seeds, args.profile)))
        return 0
    start = time.perf_counter()
    if args.code:
        with tempfile.NamedTemporaryFile(suffix=".json") as dump:
            command = [sys.executable, __file__, *args.suites, "--profile", args.profile, "--dump", dump.name]
            if args.seeds:
                command += ["--seeds", str(args.seeds)]
            subprocess.run(command, check=True, cwd=args.code, env={**os.environ, "PYTHONPATH": str(Path(args.code).resolve())})
            reference = json.loads(Path(dump.name).read_text())
    else:
        reference = committed(args.store)
    reference_s = time.perf_counter() - start
    current = run_all(args.suites, args.seeds, args.profile)
    equal = different = missing = 0
    for key, new in current.items():
        old = reference.get(key)
        if old is None:
            missing += 1
            print("no reference:", key)
        elif json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True):
            equal += 1
        else:
            different += 1
            print("DIFFERENT:", key, {k: (old["metrics"].get(k), new["metrics"].get(k))
                                      for k in set(old["metrics"]) | set(new["metrics"])
                                      if str(old["metrics"].get(k)) != str(new["metrics"].get(k))})
    print(f"{' '.join(args.suites)}: {equal} equal bit for bit, {different} different, {missing} without a reference "
          f"(reference {reference_s:.0f} s, current {time.perf_counter() - start - reference_s:.0f} s)")
    return 0 if different == 0 and missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
