"""Orchestration: time limits, dying trials, non-finite results, and resuming after kill -9."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.store import ResultsStore
from methods.base import FitResult, RecoveredReward
from methods.lfl import LfL
from tests.test_cli import run


def sleepy_fit(self, data, task, *, seed):
    time.sleep(60)


def dying_fit(self, data, task, *, seed):
    os._exit(3)


def nan_fit(self, data, task, *, seed):
    return FitResult(RecoveredReward(table=np.full((task.n_states, task.n_actions), np.nan)))


def test_a_trial_past_its_time_limit_is_a_timeout_record_and_is_retried(tmp_path, monkeypatch, capsys):
    store = str(tmp_path / "store")
    monkeypatch.setattr(LfL, "fit", sleepy_fit)
    tick = time.perf_counter()
    code, _ = run("run", "lfl-table1", "--store", store, "--no-progress", "--time-limit", "1")
    assert code == 1 and time.perf_counter() - tick < 20  # two trials, each stopped after 1 s
    records = ResultsStore(store).records()
    assert [r["status"] for r in records] == ["timeout", "timeout"]
    assert all("1 s time limit" in r["error"] for r in records)
    assert "0 trial(s) failed, 2 timed out" in capsys.readouterr().err
    monkeypatch.undo()
    assert run("run", "lfl-table1", "--store", store, "--no-progress", "--time-limit", "60")[0] == 0
    assert "0 already finished, 2 to run" in capsys.readouterr().err
    assert [r["status"] for r in ResultsStore(store).records()] == ["ok", "ok"]  # the latest record of each trial
    assert (tmp_path / "store" / "records.jsonl").read_text().count("\n") == 4  # the timeouts stay on file


def test_a_trial_whose_process_dies_is_a_failed_record(tmp_path, monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.setattr(LfL, "fit", dying_fit)
    assert run("run", "lfl-table1", "--store", store, "--no-progress", "--time-limit", "30")[0] == 1
    records = ResultsStore(store).records()
    assert all(r["status"] == "failed" and "exit code 3" in r["error"] for r in records)


def test_a_non_finite_reward_is_a_failed_record(tmp_path, monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.setattr(LfL, "fit", nan_fit)
    assert run("run", "lfl-table1", "--store", store, "--no-progress")[0] == 1
    records = ResultsStore(store).records()
    assert all(r["status"] == "failed" and "NaN or inf" in r["error"] for r in records)


# Algorithm 1's Adam regression at 2000 steps takes about a second a trial: slow enough to kill
# the driver mid-sweep (12 trials).
SWEEP = ["run", "lfl-table2", "--seeds", "3", "--set", "method.solver=adam", "--set", "method.reward_steps=2000",
         "--no-progress"]


def export(store: str) -> pd.DataFrame:
    code, csv = run("export", "--store", store)
    assert code == 0
    return pd.read_csv(io.StringIO(csv)).sort_values("trial_id").reset_index(drop=True)


def start_sweep(store: str, backend: str, tmp_path, *, records: int, argv=SWEEP) -> subprocess.Popen:
    """The sweep's driver as its own process, once `records` records are in its store."""
    env = {**os.environ, "IRLBENCH_RAY_STORAGE": str(tmp_path / "ray")}
    command = [sys.executable, "-m", "benchmark.cli", *argv, "--store", store, "--backend", backend]
    driver = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    records_file = Path(store) / "records.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and driver.poll() is None:
        if records_file.exists() and records_file.read_bytes().count(b"\n") >= records:
            break
        time.sleep(0.05)
    assert driver.poll() is None, "the sweep ended before it could be stopped"
    return driver


def test_resume_after_kill_9_recomputes_nothing_and_matches_an_uninterrupted_run(tmp_path):
    killed, uninterrupted = str(tmp_path / "killed"), str(tmp_path / "uninterrupted")
    env = {**os.environ, "IRLBENCH_RAY_STORAGE": str(tmp_path / "ray")}
    command = [sys.executable, "-m", "benchmark.cli", *SWEEP, "--store", killed, "--backend", "ray"]
    driver = start_sweep(killed, "ray", tmp_path, records=2)
    started = started_by(driver.pid)  # the local Ray it started, its agents and workers
    assert len(started) >= 4
    driver.send_signal(signal.SIGKILL)  # the driver only, as `kill -9 PID` would
    driver.communicate()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and lingering(started):
        time.sleep(0.2)
    assert not lingering(started), f"the killed driver left {lingering(started)} running"
    before = {r["trial_id"] for r in ResultsStore(killed).records()}
    assert 2 <= len(before) < 12

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"12 trial(s), {len(before)} already finished, {12 - len(before)} to run" in resumed.stderr
    records = ResultsStore(killed).records()
    ids = [r["trial_id"] for r in records]
    assert len(ids) == 12 and len(set(ids)) == 12  # nothing duplicated, nothing missing
    recomputed = before & {r["trial_id"] for r in records[len(before):]}
    print(f"killed after {len(before)} of 12 trials; recomputed on resume: {len(recomputed)}")
    assert not recomputed

    assert run(*SWEEP, "--store", uninterrupted)[0] == 0  # serial: the same trials, never interrupted
    pd.testing.assert_frame_equal(export(killed), export(uninterrupted))


def started_by(pid: int) -> dict[int, int]:
    """{pid: start time} of the processes below `pid` (the local Ray a driver started, its workers)."""
    from benchmark.reaper import descendants, process_table

    return descendants(pid, process_table())


def lingering(started: dict[int, int]) -> list[int]:
    """The processes of `started` ({pid: start time}) still running (zombies are gone)."""
    from benchmark.reaper import still_running

    return still_running(started)


@pytest.mark.parametrize("backend, target, signum", [("serial", "driver", signal.SIGINT), ("ray", "driver", signal.SIGINT),
                                                     ("ray", "process group", signal.SIGINT),
                                                     ("ray", "driver", signal.SIGTERM)])
def test_an_interrupted_run_exits_128_plus_the_signal_says_how_to_resume_and_loses_nothing(tmp_path, backend, target,
                                                                                          signum):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it), `kill -INT PID` or `kill PID`
    (SIGTERM, which Ray's own driver handler would turn into exit 15)."""
    store = str(tmp_path / "store")
    driver = start_sweep(store, backend, tmp_path, records=3)
    started = started_by(driver.pid)
    if target == "driver":
        driver.send_signal(signum)
    else:
        os.killpg(driver.pid, signum)
    tick = time.perf_counter()
    _, err = driver.communicate(timeout=60)
    seconds = time.perf_counter() - tick
    written = lines(store)  # a trial whose worker the interrupt stopped may leave a failed record
    finished = sum(r["status"] in ("ok", "n/a") for r in written)
    print(f"{backend}, {signal.Signals(signum).name} to the {target}: exit {driver.returncode} after {seconds:.1f} s, "
          f"{len(written)} records")
    assert driver.returncode == 128 + signum, err[-2000:]
    assert f"interrupted: {finished} of 12 trial(s) finished; this run wrote {len(written)} record(s); run the " \
           "same command again to resume" in err
    for noise in ("Traceback", "Tuner.restore", "Failed to fetch metrics", "KeyboardInterrupt"):
        assert noise not in err
    time.sleep(2)
    assert not lingering(started)
    from benchmark.store import record_problem

    assert not [problem for r in written if (problem := record_problem(r))]  # whole records only
    if (backend, target) != ("ray", "process group"):
        return  # resuming is the same whatever stopped the run: once (Ctrl-C in a terminal) is enough
    resumed = subprocess.run([sys.executable, "-m", "benchmark.cli", *SWEEP, "--store", store, "--backend", "serial"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0 and f"{finished} already finished, {12 - finished} to run" in resumed.stderr
    ok = [r["trial_id"] for r in lines(store) if r["status"] == "ok"]
    assert len(ok) == 12 and len(set(ok)) == 12  # every trial finished once


def lines(store: str) -> list[dict]:
    import json

    return [json.loads(line) for line in (Path(store) / "records.jsonl").read_text().splitlines()]


def test_trials_get_as_many_blas_and_torch_threads_as_cpus():
    """Every BLAS the trial can use (numpy's and scipy's own) and torch run the trial's CPU count of
    threads: a multi-threaded BLAS reduction changed MaxEnt's scores in the 4th decimal between the
    serial driver (all cores) and Ray's workers (one)."""
    import threadpoolctl
    import torch

    from benchmark.backends import match_threads

    match_threads(1.0)
    blas = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    assert any("scipy" in pool["filepath"] for pool in blas)
    assert all(pool["num_threads"] == 1 for pool in blas) and torch.get_num_threads() == 1
