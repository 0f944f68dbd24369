"""Benchmark: where the gridworld leaderboard's time goes, one seed of every cell at a profile.

Runs `irlbench run gridworld --seeds 1 --profile PROFILE --backend serial` (48 trials, one process,
cold dataset cache) and prints the CPU seconds per method and learner from the records' timings.
Multiply by the seed count and divide by the CPUs for the leaderboard's expected wall time. Not a
test: nothing is asserted.

    python bench/gridworld_cost.py [smoke|quick|paper]   (default quick)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmark.store import ResultsStore


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else "quick"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IRLBENCH_CACHE": str(Path(tmp) / "cache")}
        tick = time.perf_counter()
        subprocess.run([sys.executable, "-m", "benchmark.cli", "run", "gridworld", "--seeds", "1", "--profile",
                        profile, "--store", str(Path(tmp) / "store"), "--no-progress"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - tick
        frame = ResultsStore(Path(tmp) / "store").frame()
    table = frame.pivot_table(index="method", columns="learner", values="total_s", aggfunc="sum")
    table["all"] = table.sum(axis=1)
    print(f"gridworld, 1 seed, profile {profile}, serial: {len(frame)} trials, wall {wall:.1f} s "
          f"(trial time {frame.total_s.sum():.1f} s)")
    print("seconds per trial (dataset + fit + evaluation), by method and learner:")
    print(table.sort_values("all", ascending=False).round(2).to_string())


if __name__ == "__main__":
    main()
