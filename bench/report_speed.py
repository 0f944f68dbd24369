"""Speed of `irlbench report` over 100,000 synthetic records (the issue's target: under 10 s).

The store holds a gridworld-style leaderboard (8 methods x 6 observation sources x 2000 seeds =
96,000 records) and an lfl-table2-style suite (LfL x 4 learners x 1000 seeds = 4,000), each record
shaped like the pipeline's (resolved config, metrics, learning curves, a 25 x 4 reward table).
Writing the store is not timed; each report is a fresh process, timed wall to wall, so imports,
reading the store, statistics (2000 bootstrap resamples per interval), figures and files all count.
The report uses every core this process may run on; the CPU seconds of the report's processes
(user + system) are printed beside the wall time, as the wall time depends on the core count.

    python bench/report_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmark.store import ResultsStore
from benchmark.synthetic import SEQUENCE_LEARNERS, leaderboard_records, synthetic_record

COMMANDS = {
    "markdown to stdout, tables only": ["--no-figures"],
    "md, tex, csv and html with every figure (PNG + PDF)": ["--out", "{out}", "--format", "md,tex,csv,html"],
    "the same, IQM cells with bootstrap intervals": ["--out", "{out}", "--format", "md,tex,csv,html",
                                                     "--aggregate", "iqm"],
}


def synthetic_store(directory: Path) -> int:
    records = leaderboard_records(2000)
    rng = np.random.default_rng(1)
    records += [synthetic_record(suite="lfl-table2", method="lfl", learner=learner, seed=seed, rng=rng, quality=1.1)
                for learner in list(SEQUENCE_LEARNERS)[:4] for seed in range(1000)]
    ResultsStore(directory).append(records)
    return len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        n = synthetic_store(store)
        size = (store / "records.jsonl").stat().st_size / 1e6
        print(f"{n} synthetic records, {size:.0f} MB of JSON lines; {len(os.sched_getaffinity(0))} cores")
        for name, extra in COMMANDS.items():
            times, cpu = [], []
            for repeat in range(args.repeats):
                out = Path(tmp) / f"out{repeat}"
                command = [sys.executable, "-m", "benchmark.cli", "report", "--store", str(store),
                           *[a.format(out=out) for a in extra]]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            files = sorted(p for p in (Path(tmp) / "out0").rglob("*") if p.is_file()) if "{out}" in extra else []
            written = f", {len(files)} files" if files else ""
            print(f"  {name}: median {statistics.median(times):.2f} s (runs: "
                  f"{', '.join(f'{t:.2f}' for t in times)}; CPU {statistics.median(cpu):.1f} s){written}")


if __name__ == "__main__":
    main()
