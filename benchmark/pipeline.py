"""One trial: dataset -> method.fit -> observer -> evaluation -> record.

The method sees only the ObservationDataset and TaskInfo; the learner's true scores
(ReferenceScores) go straight to the evaluation.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import platform
import signal
import subprocess
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.config import SECTIONS, ProtocolConfig, trial_id
from benchmark.normalization import expert_normalized, lfl_normalized
from benchmark.reward_distance import epic_distance
from envs.datasets import CacheWarning, ObservationDataset, ReferenceScores, load_or_generate
from envs.learners import run_learner
from envs.tabular import soft_optimal_policy, soft_policy_improvement, soft_score, uniform_policy
from envs.tasks import TabularTask, build_task
from methods.base import FitResult, NotApplicable, TaskInfo
from methods.registry import METHODS

SEED_STREAMS = {"dataset": 0, "method": 1}
# Undefined, not failed: normalization when the learner did not change, EPIC for a pure-shaping reward.
NAN_ALLOWED = {"normalized_score", "epic_distance"}
# The observer's learning curve: soft policy improvement steps on the recovered reward (Newton's
# method on the soft Bellman equation, so 10 steps reach the fixed point on these grids).
OBSERVER_STEPS = 10
SIGNIFICANT_DIGITS = 6  # curves and reward tables in records are for figures, not for metrics


def section_config(config: dict[str, Any], section: str):
    """The typed config object of one section of a resolved trial config."""
    values = dict(config[section])
    cls = SECTIONS[section][values.pop("name")]
    return cls(**values)


def stream_seed(seed: int, stream: str) -> np.random.SeedSequence:
    """Independent, explicit random streams per trial seed (dataset, method, ...)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(SEED_STREAMS[stream],))


def observe_learner(config: dict[str, Any], task: TabularTask,
                    cache_dir: Path | None = None) -> tuple[ObservationDataset, ReferenceScores]:
    """The observer's dataset for (task, learner, protocol, seed, profile), cached by content."""
    spec = {key: config[key] for key in ("task", "learner", "protocol", "seed", "profile")}
    protocol: ProtocolConfig = section_config(config, "protocol")

    def generate() -> tuple[ObservationDataset, ReferenceScores]:
        rng = np.random.default_rng(stream_seed(config["seed"], "dataset"))
        policies, dataset = run_learner(task.mdp, task.alpha, section_config(config, "learner"),
                                        observation=protocol.observation,
                                        pairs_per_batch=protocol.pairs_per_batch, rng=rng)
        mdp, alpha = task.mdp, task.alpha
        reference = ReferenceScores(
            learner=np.array([soft_score(mdp, p, alpha) for p in policies]),
            optimal=soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha),
            random=soft_score(mdp, uniform_policy(mdp.n_states, mdp.n_actions), alpha),
        )
        return dataset, reference

    return load_or_generate(spec, generate, cache_dir)


def task_info(task: TabularTask, protocol: ProtocolConfig) -> TaskInfo:
    mdp = task.mdp
    return TaskInfo(name=task.name, gamma=mdp.gamma, alpha=task.alpha, n_states=mdp.n_states,
                    n_actions=mdp.n_actions, transitions=mdp.transitions if protocol.grant_dynamics else None,
                    features=mdp.features, start=mdp.start)


def evaluate(task: TabularTask, fit: FitResult, reference: ReferenceScores) -> dict[str, float]:
    """Tabular observer: the exact soft-optimal policy for the recovered reward under the true
    dynamics and the task's alpha, scored with the true reward."""
    mdp, alpha = task.mdp, task.alpha
    observer = soft_optimal_policy(mdp, alpha, fit.reward.table)
    score = soft_score(mdp, observer, alpha)
    first, last = float(reference.learner[0]), float(reference.learner[-1])
    metrics = {
        "score": score,
        "regret": reference.optimal - score,
        "learner_first_score": first,
        "learner_last_score": last,
        "optimal_score": reference.optimal,
        "random_score": reference.random,
        "normalized_score": float(lfl_normalized(score, first, last)),
        "normalized_score_expert": float(expert_normalized(score, reference.random, reference.optimal)),
    }
    metrics["epic_distance"] = epic_distance(fit.reward.table, mdp.reward, mdp.transitions, mdp.gamma)
    if fit.policy is not None:
        metrics["method_policy_score"] = soft_score(mdp, fit.policy, alpha)
    return metrics


def behaviour_clone(dataset: ObservationDataset, n_states: int, n_actions: int) -> np.ndarray:
    """(S, A) the observer's starting policy: the last observed policy when policies are observed
    exactly, else the maximum-likelihood clone of the last batch (uniform in unvisited states)."""
    if dataset.policies is not None:
        return np.asarray(dataset.policies[-1], dtype=float)
    batch = dataset.batches[-1]
    counts = np.zeros((n_states, n_actions))
    np.add.at(counts, (batch.observations, batch.actions), 1.0)
    visits = counts.sum(axis=1, keepdims=True)
    return np.where(visits > 0, counts / np.maximum(visits, 1.0), 1.0 / n_actions)


def observer_curve(task: TabularTask, reward: np.ndarray, start: np.ndarray,
                   steps: int = OBSERVER_STEPS) -> list[float]:
    """True-reward scores of the observer as it learns on the recovered reward, like LfL's Fig. 4:
    it starts from the clone of the learner's last observed behaviour and takes `steps` soft
    policy improvement steps on the recovered reward (their limit is the evaluated observer)."""
    mdp, alpha = task.mdp, task.alpha
    policy, scores = start, [soft_score(mdp, start, alpha)]
    for _ in range(steps):
        policy = soft_policy_improvement(mdp, policy, alpha, reward)
        scores.append(soft_score(mdp, policy, alpha))
    return scores


def rounded(values) -> list:
    """Nested lists of floats at SIGNIFICANT_DIGITS, for compact records."""
    return np.vectorize(lambda x: float(f"{x:.{SIGNIFICANT_DIGITS}g}"), otypes=[float])(
        np.asarray(values, dtype=float)).tolist()


def artifacts(task: TabularTask, dataset: ObservationDataset, fit: FitResult,
              reference: ReferenceScores) -> dict[str, list]:
    """What the report's figures need beyond the metrics: the learner's observed scores, the
    observer's learning curve and the recovered (S, A) reward table."""
    mdp = task.mdp
    start = behaviour_clone(dataset, mdp.n_states, mdp.n_actions)
    return {"learner_curve": rounded(reference.learner),
            "observer_curve": rounded(observer_curve(task, fit.reward.table, start)),
            "reward": rounded(fit.reward.table)}


def empty_record(config: dict[str, Any]) -> dict[str, Any]:
    """A record's identity fields, status ok, nothing measured yet."""
    return {
        "trial_id": trial_id(config), "suite": config["suite"], "label": config["label"],
        "task": config["task"]["name"], "learner": config["learner"]["name"],
        "method": config["method"]["name"], "seed": config["seed"], "profile": config["profile"],
        "config": config, "status": "ok", "error": None, "metrics": {}, "artifacts": {}, "diagnostics": {},
        "timings": {},
    }


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
    record["versions"] = versions()
    return record


def _run_trial(config: dict[str, Any], record: dict[str, Any], cache_dir: Path | None, start: float,
               notes: list[str]) -> None:
    timings = record["timings"]
    try:
        task = build_task(section_config(config, "task"))
        with captured(CacheWarning, notes):
            dataset, reference = observe_learner(config, task, cache_dir)
        timings["dataset_s"] = time.perf_counter() - start
        method = METHODS[config["method"]["name"]](section_config(config, "method"))
        tick = time.perf_counter()
        fit = method.fit(dataset, task_info(task, section_config(config, "protocol")),
                         seed=int(stream_seed(config["seed"], "method").generate_state(1)[0]))
        timings["fit_s"] = time.perf_counter() - tick
        if fit.reward.table is not None and not np.all(np.isfinite(fit.reward.table)):
            raise FloatingPointError("the recovered reward has NaN or inf entries")
        tick = time.perf_counter()
        record["metrics"] = evaluate(task, fit, reference)
        record["artifacts"] = artifacts(task, dataset, fit, reference)
        timings["evaluate_s"] = time.perf_counter() - tick
        record["diagnostics"] = {k: v for k, v in fit.diagnostics.items() if isinstance(v, (int, float, str))}
        if not all(math.isfinite(v) for k, v in record["metrics"].items() if k not in NAN_ALLOWED):
            raise FloatingPointError(f"non-finite metrics: {record['metrics']}")
    except NotApplicable as reason:  # a cell the method cannot fill: finished, shown as n/a
        record["status"] = "n/a"
        record["error"] = str(reason)
    except Exception as error:  # a failed trial is a record, and the sweep goes on
        record["status"] = "failed"
        record["error"] = f"{type(error).__name__}: {error}"
        record["diagnostics"]["traceback"] = traceback.format_exc(limit=5)


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
        record = empty_record(config)
        record.update(status=status, error=error, created_at=now(), versions=versions())
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
    """Package versions and the git commit of the code that produced a record (dirty: the
    package code differs from that commit)."""
    found = {"python": platform.python_version()}
    for package in ("irlbench", "numpy", "scipy", "torch"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "unknown"
    here = Path(__file__).parent
    try:
        git = lambda *args: subprocess.run(["git", *args], cwd=here, capture_output=True, text=True,
                                           timeout=5).stdout.strip()
        found["git_commit"] = git("rev-parse", "HEAD") or "unknown"
        found["git_dirty"] = str(bool(git("status", "--porcelain", "--untracked-files=no", "--", ":/envs", ":/methods", ":/benchmark")))
    except (OSError, subprocess.SubprocessError):
        found["git_commit"] = "unknown"
    return found
