"""Benchmark: the whole lfl-table2 suite at 10 seeds, cold (empty dataset cache) and warm.

Prints the wall time of each CLI run and where the time goes (dataset generation, method fit,
observer evaluation) from the records' timings. Not a test: nothing is asserted.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmark.store import ResultsStore


def timed_run(store: Path, env: dict) -> float:
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchmark.cli", "run", "lfl-table2", "--seeds", "10", "--store",
                    str(store), "--no-progress"], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - tick


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IRLBENCH_CACHE": str(Path(tmp) / "cache")}
        cold = timed_run(Path(tmp) / "cold", env)
        warm = timed_run(Path(tmp) / "warm", env)  # same datasets, now cached
        rows = []
        for name, store in (("cold", Path(tmp) / "cold"), ("warm", Path(tmp) / "warm")):
            records = ResultsStore(store).records()
            t = pd.DataFrame([{**r["timings"], "learner": r["learner"]} for r in records])
            rows.append(t.assign(run=name))
        timings = pd.concat(rows)
    print(f"lfl-table2, 10 seeds (40 trials): wall {cold:.1f} s cold cache, {warm:.1f} s warm cache")
    print("seconds summed over trials, by learner and phase:")
    print(timings.groupby(["run", "learner"])[["dataset_s", "fit_s", "evaluate_s", "total_s"]].sum().round(2))


if __name__ == "__main__":
    main()
