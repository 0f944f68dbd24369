"""Fault injection: every fault of the store, the cache and the run loop, on fresh stores, through the
command line as a user would meet it. One line per scenario: the records a complete run has, the
records present in the store afterwards, duplicated trial ids, the exit codes (each command in
order) and whether all of that is as documented.

    python bench/faults.py            # `make faults`; the disk-full and read-only cases need root (tmpfs)
    python bench/faults.py --code DIR # the same scenarios against another checkout (e.g. before a fix)

Exit codes (README): 0 done, 1 trials failed, 2 bad input (nothing run or written), 3 the store
could not be written mid-run, 130 interrupted (Ctrl-C), 143 SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmark.reaper import descendants, process_table, still_running  # noqa: E402

SLOW = ["--set", "method.solver=adam", "--set", "method.reward_steps=2000"]  # about 1 s a trial


@dataclass
class Outcome:
    scenario: str
    expected: int
    present: int
    duplicates: int
    codes: list[int]
    ok: bool
    note: str = ""


class Lab:
    def __init__(self, directory: Path, code: Path) -> None:
        self.directory, self.code = directory, code
        self.env = {**os.environ, "IRLBENCH_CACHE": str(directory / "cache"),
                    "IRLBENCH_RAY_STORAGE": str(directory / "ray"), "PYTHONPATH": str(code)}
        self.root = os.geteuid() == 0 and shutil.which("mount") is not None

    def store(self, name: str) -> Path:
        return self.directory / name

    def irlbench(self, *argv: str, store: Path | None = None, cache: Path | None = None) -> subprocess.CompletedProcess:
        extra = ["--store", str(store)] if store is not None else []
        env = {**self.env, "IRLBENCH_CACHE": str(cache)} if cache is not None else self.env
        return subprocess.run([sys.executable, "-m", "benchmark.cli", *argv, *extra], env=env, cwd=self.code,
                              capture_output=True, text=True, timeout=900)

    def start(self, *argv: str, store: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "benchmark.cli", *argv, "--store", str(store), "--no-progress"],
                                env=self.env, cwd=self.code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def mount(self, path: Path, size: str, *options: str) -> bool:
        path.mkdir(parents=True, exist_ok=True)
        return self.root and subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]),
                                             "tmpfs", str(path)], capture_output=True).returncode == 0


def ids(store: Path) -> list[str]:
    """The trial id of every line that holds a record (a JSON object with a string trial_id and a
    config object), parsed by the json module."""
    path = store / "records.jsonl"
    found = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("trial_id"), str) and isinstance(record.get("config"), dict):
            found.append(record["trial_id"])
    return found


def counted(scenario: str, store: Path, expected: int, codes: list[int], wanted: list[int], note: str = "",
            extra_ok: bool = True) -> Outcome:
    found = ids(store)
    duplicates = len(found) - len(set(found))
    ok = len(set(found)) == expected and duplicates == 0 and codes == wanted and extra_ok
    return Outcome(scenario, expected, len(set(found)), duplicates, codes, ok, note)


def wait_for_records(store: Path, n: int, process: subprocess.Popen, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(ids(store)) >= n:
            return
        time.sleep(0.05)


# ----- the scenarios -------------------------------------------------------------------------------

def disk_full(lab: Lab) -> Outcome:
    disk = lab.store("disk")
    if not lab.mount(disk, "16k"):
        return Outcome("1. full disk (16 KB tmpfs), then space freed", 8, 0, 0, [], True, "skipped: needs root")
    store = disk / "store"
    try:
        first = lab.irlbench("run", "lfl-table2", "--seeds", "2", "--backend", "serial", "--no-progress", store=store)
        partial_tail = not (store / "records.jsonl").read_bytes().endswith(b"\n")
        kept = len(ids(store))
        subprocess.run(["mount", "-o", "remount,size=1m", str(disk)], check=True)
        second = lab.irlbench("run", "lfl-table2", "--seeds", "2", "--backend", "serial", "--no-progress", store=store)
        return counted("1. full disk (16 KB tmpfs), then space freed", store, 8, [first.returncode, second.returncode],
                       [3, 0], f"{kept} records kept at the failure, partial line: {partial_tail}", not partial_tail)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def interrupted(lab: Lab, backend: str, target: str, signum: int = signal.SIGINT) -> Outcome:
    name = f"2. {signal.Signals(signum).name} to the {target}, {backend} backend, after 5 records; resumed"
    store = lab.store(f"interrupt-{backend}-{target}-{signum}")
    argv = ["run", "lfl-table2", "--seeds", "5", "--backend", backend, *SLOW]
    driver = lab.start(*argv, store=store)
    wait_for_records(store, 5, driver)
    started = descendants(driver.pid, process_table())
    tick = time.monotonic()
    if target == "process group":
        os.killpg(driver.pid, signum)
    else:
        driver.send_signal(signum)
    _, err = driver.communicate(timeout=120)
    seconds = time.monotonic() - tick
    at_stop = len(ids(store))
    time.sleep(2)
    left = still_running(started)
    quiet = "Traceback" not in err and "Tuner.restore" not in err and "Failed to fetch" not in err
    hint = "run the same command again to resume" in err
    resumed = lab.irlbench(*argv, "--no-progress", store=store)
    return counted(name, store, 20, [driver.returncode, resumed.returncode], [128 + signum, 0],
                   f"stopped in {seconds:.1f} s with {at_stop} records; traceback-free: {quiet}; resume hint: {hint}; "
                   f"processes left: {len(left)}", quiet and hint and not left)


def unwritable(lab: Lab, kind: str) -> Outcome:
    name = f"3. store is {kind}"
    if kind == "a file":
        path = lab.store("a-file")
        path.write_text("x")
    elif kind == "/proc/x":
        path = Path("/proc/x")
    else:
        readonly = lab.store("readonly")
        if not lab.mount(readonly, "16k", "ro"):
            return Outcome(name, 0, 0, 0, [], True, "skipped: needs root")
        path = readonly / "store"
    tick = time.monotonic()
    result = lab.irlbench("run", "lfl-table2", "--no-progress", store=path)
    seconds = time.monotonic() - tick
    if kind == "read-only":
        subprocess.run(["umount", "-l", str(lab.store("readonly"))], capture_output=True)
    lines = result.stderr.strip().splitlines()
    return Outcome(name, 0, 0, 0, [result.returncode], result.returncode == 2 and len(lines) == 1,
                   f"{len(lines)} line(s) in {seconds:.1f} s: {lines[-1][:90] if lines else ''}")


ODD_LINES = ["[1, 2]", "null", '{"trial_id": ["a"]}', '{"trial_id": "x", "metrics": [1, 2]}', "garbage }{",
             '{"trial_id": "y", "status": "ok"}']


def odd_lines(lab: Lab) -> Outcome:
    store = lab.store("odd-lines")
    first = lab.irlbench("run", "lfl-table1", "--backend", "serial", "--no-progress", store=store)
    path = store / "records.jsonl"
    good = path.read_text().splitlines()
    path.write_text("\n".join([good[0], *ODD_LINES, *good[1:]]) + "\n")
    again = lab.irlbench("run", "lfl-table1", "--backend", "serial", "--no-progress", store=store)
    export = lab.irlbench("export", store=store)
    report = lab.irlbench("report", store=store)
    rows = len(export.stdout.strip().splitlines()) - 1
    warned = [lab_output.stderr.count("skipped 6 line(s)") for lab_output in (again, export, report)]
    outcome = counted("4. six odd lines among the records (run, export, report)", store, 2,
                      [first.returncode, again.returncode, export.returncode, report.returncode], [0, 0, 0, 0],
                      f"export rows: {rows}; warnings per command: {warned}", rows == 2 and warned == [1, 1, 1])
    return outcome


def damaged_cache(lab: Lab, damage: str) -> Outcome:
    """lfl-table2 at one seed on a cache of its own whose four files are all damaged."""
    cache = lab.directory / f"cache-{damage}"
    argv = ["run", "lfl-table2", "--seeds", "1", "--backend", "serial", "--no-progress"]
    clean = lab.irlbench(*argv, store=lab.store(f"cache-{damage}-clean"), cache=cache)
    reference = lab.irlbench("export", store=lab.store(f"cache-{damage}-clean")).stdout
    files = sorted((cache / "datasets").glob("*.npz"))
    originals = [f.read_bytes() for f in files]
    for i, (target, data) in enumerate(zip(files, originals)):
        if damage == "truncated":
            target.write_bytes(data[:len(data) // 2])
        elif damage == "bit-flipped":
            target.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:])
        else:  # each file holds another learner's dataset
            target.write_bytes(originals[(i + 1) % len(files)])
    store = lab.store(f"cache-{damage}")
    result = lab.irlbench(*argv, store=store, cache=cache)
    warnings = result.stderr.count("irlbench: warning: dataset cache file")
    same = _scores(lab.irlbench("export", store=store).stdout) == _scores(reference)
    return counted(f"5. every cache file {damage}", store, 4, [clean.returncode, result.returncode], [0, 0],
                   f"warnings: {warnings} for {len(files)} files; scores equal a clean cache's: {same}",
                   same and warnings == len(files) == 4)


def _scores(csv: str) -> list[str]:
    import io

    import pandas as pd

    frame = pd.read_csv(io.StringIO(csv)).sort_values("trial_id")
    return frame[["trial_id", "score", "learner_last_score"]].to_csv(index=False).splitlines()


def bad_value(lab: Lab, setting: str) -> Outcome:
    store = lab.store("bad-" + setting.replace("=", "-").replace(".", "-"))
    result = lab.irlbench("run", "lfl-table2", "--backend", "serial", "--set", setting, store=store)
    lines = result.stderr.strip().splitlines()
    key = setting.split("=")[0]
    return Outcome(f"6. --set {setting}", 0, len(ids(store)), 0, [result.returncode],
                   result.returncode == 2 and len(lines) == 1 and key in lines[0] and not store.exists(),
                   lines[-1][:100] if lines else "")


def two_runs(lab: Lab) -> Outcome:
    store = lab.store("two-runs")
    argv = ["run", "lfl-table2", "--seeds", "3", "--backend", "serial", *SLOW]
    first = lab.start(*argv, store=store)
    wait_for_records(store, 1, first)
    second = lab.irlbench(*argv, store=store)
    first.communicate()
    names_pid = f"pid {first.pid}" in second.stderr
    return counted("7. a second run on the same store while the first runs", store, 12,
                   [first.returncode, second.returncode], [0, 2], f"message names the holder's pid: {names_pid}",
                   names_pid)


def user_suite(lab: Lab, name: str) -> Outcome:
    path = lab.directory / f"suite-{name}.toml"
    path.write_text(f'name = "{name}"\nseeds = 1\n[defaults]\ntask = {{ name = "lfl-gridworld" }}\n'
                    'method = { name = "lfl" }\n[[cells]]\nlearner = { name = "spi", k = 3 }\n')
    store = lab.store(f"suite-{name}")
    shadows = name == "lfl-table2"
    # the shadowing file by its path less .toml, which the code before the fix loaded as a packaged suite
    result = lab.irlbench("run", str(path.with_suffix("")) if shadows else str(path), "--backend", "serial",
                          "--no-progress", store=store)
    suites = {json.loads(line)["suite"] for line in (store / "records.jsonl").read_text().splitlines()} \
        if (store / "records.jsonl").exists() else set()
    return counted(f"8. suite file by path named {name!r}", store, 0 if shadows else 1, [result.returncode],
                   [2 if shadows else 0], (result.stderr.strip().splitlines() or [""])[-1][:100] if shadows
                   else f"records' suite: {sorted(suites)}", suites <= {name} and (not shadows or not suites))


READER_CHECK = """
import json, sys
from benchmark.store import ResultsStore, artifact_values, has_artifact
store = ResultsStore(sys.argv[1])
reference = [json.loads(line) for line in store.path.read_text().splitlines()]
frame = store.frame(artifacts=True, workers=2)
checks = {
    "config": [json.loads(c) for c in frame.config] == [r["config"] for r in reference],
    "artifacts": [json.loads(a) for a in frame.artifacts] == [r["artifacts"] for r in reference],
    "records": store.records() == reference,
    "lookups": all(artifact_values(frame.artifacts, key) == [r["artifacts"].get(key) for r in reference]
                   and has_artifact(frame.artifacts, key) == [key in r["artifacts"] for r in reference]
                   for key in ("learner_curve", "reward", "paths", "meta", "name")),
}
print(" ".join(f"{name}={'equal' if same else 'DIFFERENT'}" for name, same in checks.items()))
"""


def fast_reader(lab: Lab) -> Outcome:
    """Records whose artifacts and config hold brackets, braces and the cut's own patterns, read by
    the store's fast path and by the json module."""
    import numpy as np

    from benchmark.synthetic import leaderboard_records
    from tests.test_faults import tricky_record

    rng = np.random.default_rng(1)
    records = [tricky_record(rng, base) for base in leaderboard_records(25, methods=("lfl", "gail"))]
    store = lab.store("fast-reader")
    store.mkdir()
    (store / "records.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    result = subprocess.run([sys.executable, "-c", READER_CHECK, str(store)], env=lab.env, cwd=lab.code,
                            capture_output=True, text=True, timeout=300)
    verdict = result.stdout.strip() or f"crashed: {(result.stderr.strip().splitlines() or [''])[-1][:90]}"
    return counted("9. tricky artifacts and configs: fast reader = json module", store, len(records),
                   [result.returncode], [0], verdict, "DIFFERENT" not in verdict)


def readme_example(lab: Lab) -> Outcome:
    store = lab.store("readme-maxent")
    result = lab.irlbench("run", "lfl-table2", "--set", "method.name=maxent", "--backend", "serial", "--no-progress",
                          store=store)
    return counted("10a. README: irlbench run lfl-table2 --set method.name=maxent", store, 40, [result.returncode], [0])


def many_seeds(lab: Lab) -> Outcome:
    """400,000 trials: expanding them takes seconds; Ctrl-C then (or in the run) is a clean exit 130."""
    store = lab.store("many-seeds")
    process = lab.start("run", "lfl-table2", "--seeds", "100000", "--backend", "serial", store=store)
    time.sleep(8)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=120)
    printed = err.strip().splitlines()
    return Outcome("10c. --seeds 100000 (400,000 trials), Ctrl-C 8 s in", 0, 0, 0, [process.returncode],
                   process.returncode == 130 and "Traceback" not in err,
                   f"stderr: {' / '.join(line[:80] for line in printed[:3])}")


def kill_9(lab: Lab) -> Outcome:
    store = lab.store("kill-9")
    argv = ["run", "lfl-table2", "--seeds", "5", "--backend", "ray", *SLOW]
    driver = lab.start(*argv, store=store)
    wait_for_records(store, 3, driver)
    started = descendants(driver.pid, process_table())
    driver.send_signal(signal.SIGKILL)
    driver.communicate()
    time.sleep(5)
    left = still_running(started)
    resumed = lab.irlbench(*argv, "--no-progress", store=store)
    return counted("10d. kill -9 of the Ray driver, then resumed", store, 20, [-9, resumed.returncode], [-9, 0],
                   f"{len(started)} processes it started, {len(left)} still running 5 s later", not left)


def during_ray_start(lab: Lab, signum: int, after_s: float) -> Outcome:
    """A signal while the local Ray starts (ray.init takes 10-15 s here): the documented exit code,
    one line and no traceback, and no process of the run left 10 s after it ended."""
    name = f"11. {signal.Signals(signum).name} {after_s:g} s into a Ray run (Ray starting)"
    store = lab.store(f"ray-start-{signum}-{after_s}")
    driver = lab.start("run", "lfl-table1", "--backend", "ray", store=store)
    seen: dict[int, int] = {}
    deadline = time.monotonic() + after_s
    while time.monotonic() < deadline:  # every process the run starts, as it starts them
        seen.update(descendants(driver.pid, process_table()))
        time.sleep(0.1)
    driver.send_signal(signum)
    while driver.poll() is None:
        seen.update(descendants(driver.pid, process_table()))
        time.sleep(0.1)
    _, err = driver.communicate(timeout=120)
    time.sleep(10)
    left = still_running(seen)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    clean = "Traceback" not in err and bool(lines) and lines[-1].startswith("irlbench: interrupted")
    return counted(name, store, 0 if not (store / "records.jsonl").exists() else len(ids(store)),
                   [driver.returncode], [128 + signum],
                   f"last line: {lines[-1][:60] if lines else '(none)'!r}; traceback-free: {'Traceback' not in err}; "
                   f"{len(seen)} processes it started, {len(left)} left 10 s later", clean and not left)


def cluster_without_token(lab: Lab) -> Outcome:
    """A Ray cluster that authenticates its drivers (Ray >= 2.59's `ray start` with RAY_AUTH_MODE=token)
    and a driver without the token: one line naming the cause, exit 2, no store made, and none of
    Ray's retry warnings on the terminal."""
    name = "12. a Ray cluster run without the cluster's auth token"
    ray = Path(sys.executable).parent / "ray"
    port = "6391"
    head_env = {**lab.env, "RAY_AUTH_MODE": "token", "HOME": str(lab.directory / "head-home")}
    (lab.directory / "head-home").mkdir()
    subprocess.run([str(ray), "get-auth-token", "--generate"], env=head_env, capture_output=True, timeout=60)
    started = subprocess.run([str(ray), "start", "--head", "--port", port, "--num-cpus", "1",
                              "--include-dashboard=false", "--disable-usage-stats"], env=head_env,
                             capture_output=True, text=True, timeout=180)
    store = lab.store("no-token")
    try:
        if started.returncode != 0:
            return Outcome(name, 0, 0, 0, [started.returncode], False, f"ray start failed: {started.stderr[-200:]}")
        driver_env = {k: v for k, v in lab.env.items() if k not in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
        driver_env["HOME"] = str(lab.directory / "driver-home")  # no ~/.ray/auth_token there
        run = subprocess.run([sys.executable, "-m", "benchmark.cli", "run", "lfl-table1", "--address",
                              f"127.0.0.1:{port}", "--store", str(store), "--no-progress"], env=driver_env,
                             cwd=lab.code, capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run([str(ray), "stop", "--force"], env=head_env, capture_output=True, timeout=120)
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    spam = sum("InvalidAuthToken" in line and not line.startswith("irlbench: error") for line in lines)
    said = bool(lines) and lines[-1].startswith("irlbench: error") and "InvalidAuthToken" in lines[-1]
    return counted(name, store, 0, [run.returncode], [2],
                   f"store made: {store.exists()}; Ray's retry warnings shown: {spam}; cause named: {said}",
                   said and not spam and not store.exists())


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose irlbench is run (default: this one)")
    parser.add_argument("--only", default="", choices=("", "11.", "12."),
                        help="11.: only the signals during Ray's start-up; 12.: only the cluster without its token")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="irlbench-faults-") as tmp:
        lab = Lab(Path(tmp), args.code.resolve())
        print(f"irlbench from {lab.code}; {'root: tmpfs scenarios run' if lab.root else 'not root: tmpfs scenarios skipped'}")
        scenarios = [
            lambda: disk_full(lab),
            lambda: interrupted(lab, "ray", "driver"), lambda: interrupted(lab, "ray", "process group"),
            lambda: interrupted(lab, "serial", "process group"), lambda: interrupted(lab, "ray", "driver", signal.SIGTERM),
            lambda: unwritable(lab, "a file"), lambda: unwritable(lab, "/proc/x"), lambda: unwritable(lab, "read-only"),
            lambda: odd_lines(lab),
            lambda: damaged_cache(lab, "truncated"), lambda: damaged_cache(lab, "bit-flipped"),
            lambda: damaged_cache(lab, "swapped"),
            *[lambda s=s: bad_value(lab, s) for s in ("task.gamma=1.5", "method.alpha_model=NaN",
                                                       "method.alpha_model=Infinity", "learner.k=-1")],
            lambda: two_runs(lab),
            lambda: user_suite(lab, "lfl-table2"), lambda: user_suite(lab, "my-suite"),
            lambda: fast_reader(lab),
            lambda: readme_example(lab), lambda: many_seeds(lab), lambda: kill_9(lab),
        ]
        # numbered apart: `--only 11.` (or 12.) runs these alone
        groups = {"11.": [lambda s=s, t=t: during_ray_start(lab, s, t) for s in (signal.SIGTERM, signal.SIGINT)
                          for t in (1, 3, 6)],
                  "12.": [lambda: cluster_without_token(lab)]}
        scenarios = groups[args.only] if args.only else scenarios + [g for group in groups.values() for g in group]
        print(f"{'scenario':<74} {'expected':>8} {'present':>7} {'dups':>4}  {'exit codes':<12} result")
        failures = 0
        for scenario in scenarios:
            outcome = scenario()
            failures += not outcome.ok
            codes = " then ".join(map(str, outcome.codes)) or "-"
            print(f"{outcome.scenario:<74} {outcome.expected:>8} {outcome.present:>7} {outcome.duplicates:>4}  "
                  f"{codes:<12} {'ok' if outcome.ok else 'FAILED'}  {outcome.note}", flush=True)
        print(f"{len(scenarios) - failures} of {len(scenarios)} scenarios as documented")
        sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
