"""One trial: dataset -> method.fit -> observer -> evaluation -> record.

The method sees only the ObservationDataset and TaskInfo; the learner's true scores
(ReferenceScores) go straight to the evaluation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
import platform
import signal
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmark import plugins
from benchmark.config import section_registry, track_of, trial_id
from benchmark.observers import NO_REWARD, TRUE_REWARD, observe
from benchmark.references import REFERENCES
from envs.datasets import CacheWarning, ObservationDataset, ReferenceScores, load_or_generate
from envs.registry import build_task, learner_source
from envs.task import Task
from envs.versions import MUJOCO_STACK, git_state, package_versions
from methods.base import NotApplicable
from methods.registry import METHODS

SEED_STREAMS = {"dataset": 0, "method": 1, "observer": 2}
# Undefined, not failed: normalization when the learner did not change, EPIC for a pure-shaping reward
# (or for no reward: the bc reference row).
NAN_ALLOWED = {"normalized_score", "epic_distance"}
REFERENCE_REWARDS = {"oracle": TRUE_REWARD, "bc": NO_REWARD}


def section_config(config: dict[str, Any], section: str):
    """The typed config object of one section of a resolved trial config."""
    values = dict(config[section])
    cls = section_registry(section, track_of(config))[values.pop("name")]
    return cls(**values)


def stream_seed(seed: int, stream: str) -> np.random.SeedSequence:
    """Independent, explicit random streams per trial seed (dataset, method, ...)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(SEED_STREAMS[stream],))


def int_stream_seed(seed: int, stream: str) -> int:
    return int(stream_seed(seed, stream).generate_state(1)[0])


def observe_learner(config: dict[str, Any], task: Task,
                    cache_dir: Path | None = None) -> tuple[ObservationDataset, ReferenceScores]:
    """The observer's dataset for (task, learner, protocol, seed, profile), cached by content."""
    spec = task.dataset_spec(config)
    learner, protocol = section_config(config, "learner"), section_config(config, "protocol")
    return load_or_generate(spec, lambda: task.observe(learner, protocol, stream_seed(config["seed"], "dataset"),
                                                       cache_dir=cache_dir), cache_dir)


def empty_record(config: dict[str, Any]) -> dict[str, Any]:
    """A record's identity fields, status ok, nothing measured yet."""
    return {
        "trial_id": trial_id(config), "suite": config["suite"], "label": config["label"],
        "task": config["task"]["name"], "learner": config["learner"]["name"],
        "method": config["method"]["name"], "seed": config["seed"], "profile": config["profile"],
        "track": track_of(config), "source": learner_source(track_of(config), config["learner"]["name"]),
        "config": config, "status": "ok", "error": None, "metrics": {}, "artifacts": {}, "diagnostics": {},
        "timings": {},
        **({"plugin": plugin_record(config)} if "plugin" in config else {}),
    }


def unfinished_record(config: dict[str, Any], status: str, error: str) -> dict[str, Any]:
    """The record of a trial that produced none of its own (a timeout, a process that died, a plugin a
    worker could not load): its identity, the status and the error."""
    record = empty_record(config)
    record.update(status=status, error=error, created_at=now(), versions=versions())
    return record


def plugin_record(config: dict[str, Any]) -> dict[str, str]:
    """A plugin method's source as its record keeps it: the trial config's identity, and the kind
    and path of the source this process loaded."""
    source = plugins.source_of(config["method"]["name"])
    where = {"kind": source.kind, "path": source.path} if source is not None else {}
    return {**config["plugin"], **where}


def check_plugin(config: dict[str, Any]) -> None:
    """A plugin method's trial runs only the code its id was made from (a cluster node with another
    version of the plugin fails the trial, naming both)."""
    source = plugins.source_of(config["method"]["name"])
    if source is None:
        raise RuntimeError(f"the plugin method {config['method']['name']!r} is not loaded in this process")
    if source.identity() != config["plugin"]:
        raise RuntimeError(f"the plugin {source.module!r} loaded here ({source.identity()}) is not the one the trial "
                           f"was made from ({config['plugin']}): install the same version on every node")


def run_trial(config: dict[str, Any], *, cache_dir: Path | None = None) -> dict[str, Any]:
    """Run one resolved trial and return its record; failures become records, never raise."""
    record = empty_record(config)
    timings = record["timings"]
    start = time.perf_counter()
    notes: list[str] = []
    _run_trial(config, record, cache_dir, start, notes)
    if notes:  # the driver shows them (a Ray worker's stderr does not reach the terminal)
        record["diagnostics"]["warnings"] = notes
    timings["total_s"] = time.perf_counter() - start
    record["created_at"] = now()
    record["versions"] = {**versions(), **record.pop("provenance", {})}
    return record


def _run_trial(config: dict[str, Any], record: dict[str, Any], cache_dir: Path | None, start: float,
               notes: list[str]) -> None:
    timings = record["timings"]
    try:
        task = build_task(section_config(config, "task"))
        with captured(CacheWarning, notes):
            record["provenance"] = task.provenance()  # what the task's results depend on (its expert)
            dataset, reference = observe_learner(config, task, cache_dir)
        timings["dataset_s"] = time.perf_counter() - start
        protocol, name = section_config(config, "protocol"), config["method"]["name"]
        fit = None
        if name in REFERENCES:  # reference rows: the pipeline's own, on the true reward or none
            reward = REFERENCE_REWARDS[name]
        else:
            if "plugin" in config:
                check_plugin(config)
            method = METHODS[name](section_config(config, "method"))
            # the observer knows whether it watches a learner or an expert (the protocol's statement)
            info = dataclasses.replace(task.info(protocol), source=learner_source(task.track, config["learner"]["name"]))
            method.applicable(dataset, info)
            tick = time.perf_counter()
            fit = method.fit(dataset, info, seed=int_stream_seed(config["seed"], "method"))
            timings["fit_s"] = time.perf_counter() - tick
            check_reward(name, fit.reward, info, dataset)
            reward = fit.reward
            record["diagnostics"] = {k: v for k, v in fit.diagnostics.items() if isinstance(v, (int, float, str))}
        tick = time.perf_counter()
        record["metrics"], record["artifacts"] = observe(task, reward, dataset, reference, fit=fit,
                                                         seed=int_stream_seed(config["seed"], "observer"))
        timings["evaluate_s"] = time.perf_counter() - tick
        if not all(math.isfinite(v) for k, v in record["metrics"].items() if k not in NAN_ALLOWED):
            raise FloatingPointError(f"non-finite metrics: {record['metrics']}")
    except NotApplicable as reason:  # a cell the method cannot fill: finished, shown as n/a
        record["status"] = "n/a"
        record["error"] = str(reason)
    except Exception as error:  # a failed trial is a record, and the sweep goes on
        record["status"] = "failed"
        record["error"] = f"{type(error).__name__}: {error}"
        record["diagnostics"]["traceback"] = traceback.format_exc(limit=5)


class RewardShapeError(TypeError):
    """A method returned a reward of the wrong shape or type."""


def check_reward(method: str, reward, info, dataset: ObservationDataset) -> None:
    """Refuse, where the method returns it, a reward the observer could not use: a table that is not
    a finite (S, A) array of numbers, or a function that does not map N transitions of the last
    batch to N finite numbers; and a non-finite terminal reward."""
    if reward.table is not None:
        table = np.asarray(reward.table)
        expected = (info.n_states, info.n_actions)
        if table.shape != expected or not np.issubdtype(table.dtype, np.number) or np.iscomplexobj(table):
            raise RewardShapeError(f"method {method!r} returned a reward table of shape {table.shape} and dtype "
                                   f"{table.dtype}; expected a real array of shape {expected} (states x actions)")
        if not np.all(np.isfinite(table)):
            raise FloatingPointError("the recovered reward has NaN or inf entries")
    else:
        batch = dataset.batches[-1]
        n = min(8, len(batch))
        values = reward.function(batch.observations[:n], batch.actions[:n], batch.next_observations[:n])
        shape = np.shape(values)
        dtype = getattr(values, "dtype", type(values))
        if shape not in ((n,), (n, 1)) or not np.issubdtype(np.asarray(values).dtype, np.number):
            raise RewardShapeError(f"method {method!r} returned a reward function that maps {n} transitions to "
                                   f"shape {shape} ({dtype}); expected ({n},) numbers, one a transition")
    if not math.isfinite(reward.terminal_reward):
        raise FloatingPointError(f"the recovered reward's terminal reward is {reward.terminal_reward}")


@contextmanager
def captured(category: type[Warning], notes: list[str]) -> Iterator[None]:
    """Warnings of `category` raised in the block, as text in `notes` (others are shown as usual)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield
    for warning in caught:
        if issubclass(warning.category, category):
            notes.append(str(warning.message))
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def run_trial_limited(config: dict[str, Any], *, cache_dir: Path | None = None,
                      time_limit_s: float | None = None) -> dict[str, Any]:
    """run_trial under a wall-clock limit: the trial runs in a forked child (Python cannot stop a
    thread, and Tune runs function trainables in one), which is killed when the limit passes. The
    record then has status "timeout"; a child that dies on its own gives status "failed"."""
    if time_limit_s is None:
        return run_trial(config, cache_dir=cache_dir)
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_trial, args=(send, config, cache_dir), daemon=True)
    start = time.perf_counter()
    child.start()
    send.close()
    try:
        record = receive.recv() if receive.poll(time_limit_s) else None
        status, error = "timeout", f"TimeoutError: no result within the {time_limit_s:g} s time limit"
    except EOFError:  # the child closed its end without sending: it died (killed, out of memory, crash)
        record, status = None, "failed"
    except BaseException:  # interrupted (Ctrl-C): the trial goes with the run
        child.kill()
        raise
    if record is None:
        child.kill()
        child.join()
        if status == "failed":
            error = f"ChildProcessError: the trial process died (exit code {child.exitcode})"
        record = unfinished_record(config, status, error)
        record["timings"]["total_s"] = time.perf_counter() - start
    child.join()
    receive.close()
    return record


def _send_trial(send, config: dict[str, Any], cache_dir: Path | None) -> None:
    # Ctrl-C reaches the whole process group; the parent stops this child (with no traceback)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    send.send(run_trial(config, cache_dir=cache_dir))
    send.close()


def _die_with_parent() -> None:
    """On Linux, this process is killed when its parent dies: a trial goes with a Ray worker that
    was stopped, instead of computing on for nobody."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@functools.cache
def versions() -> dict[str, str]:
    """Package versions (the MuJoCo track's stack included) and the git commit of the code that
    produced a record (dirty: the package code differs from that commit)."""
    return {"python": platform.python_version(),
            **package_versions(("irlbench", "numpy", "scipy", "torch", *MUJOCO_STACK)), **git_state()}
