"""Execution backends: run resolved trials and hand each record to `on_record` as it finishes.

ray (the default): one Ray Tune trial per trial spec, on a local Ray or an existing cluster
(`address`); each trial reserves its method's declared resources; records travel back to the
driver, which alone writes the store. serial: in-process, one trial after another (debugging,
tests). Both run every trial under an optional wall-clock limit (status "timeout" past it) and
report starts to `on_start`, so the caller can show what is running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from benchmark import plugins, reaper
from benchmark.config import ConfigError
from benchmark.pipeline import run_trial_limited, unfinished_record
from envs.datasets import default_cache_dir
from methods.base import IRLMethod
from methods.registry import METHODS

OnRecord = Callable[[dict[str, Any]], None]
OnStart = Callable[[dict[str, Any]], None]
BACKENDS = ("ray", "serial")


def trial_resources(config: dict[str, Any]) -> dict[str, float]:
    """The CPUs and GPUs the trial's method declares (IRLMethod.resources); a reference row (the
    pipeline's own observer) takes the base class's one CPU."""
    declared = getattr(METHODS.get(config["method"]["name"]), "resources", IRLMethod.resources)
    return {"cpu": float(declared.get("cpu", 1.0)), "gpu": float(declared.get("gpu", 0.0))}


def match_threads(cpus: float) -> None:
    """Torch and numpy's BLAS get as many threads as the trial has CPUs: more only fight each other
    for the cores, and a fixed count keeps BLAS reductions, hence results, the same on every
    backend (Ray's workers would otherwise run 1 BLAS thread and the serial driver all of them)."""
    import scipy.linalg  # noqa: F401  (loads scipy's own BLAS, so that the limit below covers it too)
    import threadpoolctl
    import torch

    threads = max(1, int(cpus))
    torch.set_num_threads(threads)
    threadpoolctl.threadpool_limits(limits=threads)


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Fails fast on a cluster address nothing answers at (ray.init would wait indefinitely)."""
    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address!r}: {error} (expected HOST:PORT of a "
                          "running head node, e.g. 10.0.0.1:6379, or ray://HOST:10001)") from None


def ray_storage(cache_dir: Path | None = None) -> Path:
    """Where Ray Tune keeps its run state: $IRLBENCH_RAY_STORAGE, else beside the dataset cache."""
    cache = (cache_dir or default_cache_dir()).resolve()
    return Path(os.environ.get("IRLBENCH_RAY_STORAGE", cache.parent / "ray")).resolve()


def check_writable_directory(path: Path, what: str, remedy: str) -> None:
    """ConfigError, before anything runs, when `path` cannot be made and written to."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".irlbench-check-"):
            pass
    except OSError as error:
        raise ConfigError(f"cannot write {what} at {path}: {error.strerror or error} ({remedy})") from None


def check_environment(backend: str, address: str | None) -> None:
    """What a run needs of this machine, checked before any store is touched: the dataset cache
    (a read-only one is used uncached, with a warning, so it is not checked) and, for a local Ray,
    Ray Tune's storage directory."""
    if backend == "ray" and (not address or address == "local"):
        check_writable_directory(ray_storage(), "Ray Tune's storage directory",
                                 "set IRLBENCH_RAY_STORAGE to a writable directory, or IRLBENCH_CACHE")


class Stop:
    """Stopping a run on SIGINT (Ctrl-C) or SIGTERM. `signum`: the signal that stopped the last run
    (the exit code is 128 plus it). While `deferred`, a signal only marks the stop as pending and
    the run stops at its next `check()`; a second signal stops it at once."""

    signum: int = signal.SIGINT
    deferred = False
    pending = False

    @classmethod
    def on_signal(cls, signum: int, frame: Any) -> None:
        cls.signum = signum
        if cls.deferred and not cls.pending:
            cls.pending = True
            return
        raise KeyboardInterrupt

    @classmethod
    def check(cls) -> None:
        if cls.pending:
            cls.pending = False
            raise KeyboardInterrupt

    @classmethod
    @contextmanager
    def deferring(cls) -> Iterator[None]:
        """Signals wait for a check(): Ray Tune's loop calls it about ten times a second, and a
        KeyboardInterrupt in the middle of Tune's code can leave a lock held (tensorboardX's, for
        one, which then hung the process at exit)."""
        cls.deferred = True
        try:
            yield
        finally:
            cls.deferred = False
        cls.check()  # a signal that came after the last check


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop a run as KeyboardInterrupt (Stop.signum says which); SIGINT is caught
    even where the shell started the run ignoring it (a background job), as `kill -INT PID`
    expects. Signals reach the main thread only: elsewhere nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    Stop.signum, Stop.deferred, Stop.pending = signal.SIGINT, False, False
    previous = {signum: signal.signal(signum, Stop.on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_serial(configs: list[dict[str, Any]], on_record: OnRecord, *, cache_dir: Path | None = None,
               time_limit_s: float | None = None, on_start: OnStart | None = None, **_: Any) -> None:
    for config in configs:
        match_threads(trial_resources(config)["cpu"])
        if on_start:
            on_start(config)
        on_record(run_trial_limited(config, cache_dir=cache_dir, time_limit_s=time_limit_s))


def run_ray(configs: list[dict[str, Any]], on_record: OnRecord, *, cache_dir: Path | None = None,
            address: str | None = None, time_limit_s: float | None = None, on_start: OnStart | None = None) -> None:
    """Raises KeyboardInterrupt when interrupted, and what `on_record` raised (a StoreError) when it
    fails; either way the trials still running are stopped first."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no experiment banner: the CLI has its own progress bar
    # Ctrl-C raises KeyboardInterrupt in fit(): Tune's own handler would end the sweep as if it had
    # finished and suggest Tuner.restore, whose files this suite never reads
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    # nor Tune's CSV, JSON and TensorBoard result files: the records are the results
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    import ray
    from ray import tune
    from ray.tune.error import TuneError
    from ray.tune.execution.placement_groups import PlacementGroupFactory

    # Absolute paths only: Tune runs trials in their own working directories, on other nodes too.
    cache = str((cache_dir or default_cache_dir()).resolve())
    check_reachable(address)
    # the plugin methods the trials use: a file's text travels in the trials' parameters; on a cluster,
    # Ray uploads a module's or an installed plugin's package to every node (runtime_env py_modules)
    shipped = plugins.shipment(configs)
    local = not address or address == "local"
    uploads = [] if local else plugins.py_modules(shipped)
    runtime_env = {"py_modules": uploads} if uploads else None
    storage = ray_storage(Path(cache))
    # a run's own folder of Tune state, removed when the run ends: Tune keeps a copy of every record
    # there, which a long sweep would grow into gigabytes; Ray's messages of a local run go to a log beside it
    run_name = f"irlbench-{os.getpid()}-{int(time.time())}"
    log_path = storage / f"{run_name}.log"
    sigterm = signal.getsignal(signal.SIGTERM)
    if local:  # a Ray started here: its agents would outlive a driver killed with -9, or stopped as Ray starts
        reaper.start_for_this_process()
    try:
        # A signal while Ray starts waits until ray.init returns (raised inside it, it could leave Ray's
        # core half started: a C++ abort, agents left running); the run then stops Ray and ends as any
        # interrupted run does.
        if not local:
            print(f"connecting to the Ray cluster at {address}", file=sys.stderr, flush=True)
        with Stop.deferring(), quiet_ray(local, log_path), our_sigterm_handler(ray), ray_core_output(local) as core:
            if local and not ray.is_initialized():  # Ray takes 10-15 s to start here: say so (above a progress bar)
                from tqdm import tqdm

                cpus = len(os.sched_getaffinity(0))
                tqdm.write(f"starting Ray ({cpus} CPU{'s' * (cpus != 1)})", file=sys.stderr)
            ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, runtime_env=runtime_env)
        if sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, sigterm)  # ray.init's own handler would exit at once (code 15)
    except ConnectionError as error:
        if "InvalidAuthToken" in core.text:
            raise ConfigError(f"the Ray cluster at {address!r} refused this driver's authentication token "
                              "(InvalidAuthToken): a cluster started with `ray start` on Ray >= 2.59 uses token "
                              "authentication; set RAY_AUTH_MODE=token on the driver as on every node, with the "
                              "cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN") from None
        raise ConfigError(f"cannot reach the Ray cluster at {address!r} ({error}). A cluster started with "
                          "`ray start` on Ray >= 2.59 uses token authentication: set RAY_AUTH_MODE=token on the "
                          "driver as on every node (the token is read from ~/.ray/auth_token or RAY_AUTH_TOKEN)"
                          ) from None
    except KeyboardInterrupt:  # stopped while Ray started: Ray stopped too, then the run ends as interrupted
        stop_trials(ray)
        raise

    def trainable(params: dict[str, Any]) -> None:
        config = params["config"]
        try:
            plugins.ensure(params["plugins"])
        except Exception as error:  # a plugin this node cannot load: the trial's record says so
            tune.report({"record": json.dumps(unfinished_record(config, "failed", f"{type(error).__name__}: {error}"))})
            return
        match_threads(trial_resources(config)["cpu"])
        cache_dir = Path(params["cache_dir"]) if params["cache_dir"] else None  # None: the node's own cache
        record = run_trial_limited(config, cache_dir=cache_dir, time_limit_s=params["time_limit_s"])
        tune.report({"record": json.dumps(record)})

    def resources(params: dict[str, Any]) -> PlacementGroupFactory:
        need = trial_resources(params["config"])
        return PlacementGroupFactory([{"CPU": need["cpu"], "GPU": need["gpu"]}])

    class StoreRecords(tune.Callback):
        error: Exception | None = None  # what on_record raised: Tune stops, and it is raised again below

        def on_step_begin(self, iteration, trials, **info):
            Stop.check()  # a Ctrl-C that came meanwhile stops the sweep here, between Tune's steps

        def on_trial_start(self, iteration, trials, trial, **info):
            if on_start:
                on_start(trial.config["config"])

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self.store(json.loads(result["record"]))

        def on_trial_error(self, iteration, trials, trial, **info):
            # run_trial turns every exception into a record; this is a worker that died under it
            if Stop.pending:  # stopped by the Ctrl-C (it reaches Ray's processes too): it runs again on resume
                return
            text = trial_error_text(trial)  # what Ray wrote of it, kept in the record (Ray's file goes with its run)
            record = unfinished_record(trial.config["config"], "failed",
                                       "RayTrialError: the trial's worker died"
                                       + (f": {text.strip().splitlines()[-1][:300]}" if text.strip() else ""))
            if text:
                record["diagnostics"]["traceback"] = text[-8000:]
            self.store(record)

        def store(self, record: dict[str, Any]) -> None:
            try:
                on_record(record)
            except Exception as error:
                self.error = error
                raise

    records = StoreRecords()
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        # On a cluster every node caches datasets under its own $IRLBENCH_CACHE (or ~/.cache/irlbench):
        # the driver's path may not exist there. A local Ray shares the driver's cache.
        param_space={"config": tune.grid_search(configs), "cache_dir": None if address else cache,
                     "time_limit_s": time_limit_s, "plugins": shipped},
        # One worker process per CPU serves trial after trial: without reuse every trial pays a
        # fresh actor plus torch/SB3 imports (~3 s, more than most tabular trials take).
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(storage), name=run_name, callbacks=[records], verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=0)),
    )
    try:
        with Stop.deferring(), quiet_ray(local, log_path):
            tuner.fit()
    except BaseException as error:
        stop_trials(ray)
        if records.error is not None and isinstance(error, TuneError):
            raise records.error from None
        raise
    finally:
        shutil.rmtree(storage / run_name, ignore_errors=True)
        if log_path.exists() and log_path.stat().st_size:
            print(f"Ray's messages of this run (kept off the terminal): {log_path}", file=sys.stderr)
        elif log_path.exists():
            log_path.unlink()


class CoreOutput:
    text = ""


@contextmanager
def ray_core_output(local: bool) -> Iterator[CoreOutput]:
    """What Ray's C++ core writes to stderr while a driver connects to a cluster (a refused token is
    a warning a second for about 20 s): held back, and shown after the connection if it succeeds
    (it may concern the cluster); a failed connection is summed up in one line instead. A local
    start is left alone."""
    out = CoreOutput()
    if local:
        yield out
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = True
        try:
            yield out
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            out.text = held.read().decode(errors="replace")
            if not failed and out.text:
                sys.stderr.write(out.text)


@contextmanager
def our_sigterm_handler(ray) -> Iterator[None]:
    """ray.init installs a SIGTERM handler that exits at once (sys.exit(15), wherever Ray's start-up
    is): while it runs, Ray's attempt to set one is skipped and the run's own (Stop) stays."""
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    original = getattr(utils, "set_sigterm_handler", None)
    if original is None:
        yield
        return
    utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        utils.set_sigterm_handler = original


def trial_error_text(trial) -> str:
    """The error Ray recorded for a trial whose worker died (its error file), or ""."""
    try:
        return Path(trial.error_file).read_text(errors="replace") if trial.error_file else ""
    except (OSError, AttributeError, TypeError):
        return ""


@contextmanager
def quiet_ray(local: bool, log_path: Path | None = None) -> Iterator[None]:
    """Ray's own messages kept off a local run's terminal: into `log_path` (the run names it at its
    end when there is something in it), but Tune's word that a trial asks for more CPUs or GPUs than
    the machine has (it would wait forever). On a cluster (`--address`) they stay on the terminal:
    they may concern the cluster. Everywhere, Tune's "Failed to fetch metrics" (one line a trial
    for the result files this suite turns off) is dropped."""
    import logging

    logger = logging.getLogger("ray")
    resources = logging.getLogger("ray.tune.execution.insufficient_resources_manager")
    metrics = logging.getLogger("ray.tune.analysis.experiment_analysis")
    state = logging.getLogger("ray.tune.tune")  # "Wrote the latest version of all result files": removed at the end
    saved = [(x, x.level, list(x.handlers), x.propagate) for x in (logger, resources, metrics, state)]
    metrics.setLevel(logging.ERROR)
    state.setLevel(logging.WARNING)
    handler = None
    if local:
        logger.setLevel(logging.WARNING)
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_path)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.handlers, logger.propagate = [handler], False
        else:
            logger.setLevel(logging.ERROR)
        resources.setLevel(logging.WARNING)
        resources.handlers, resources.propagate = [logging.StreamHandler(sys.stderr)], False
    try:
        yield
    finally:
        for x, level, handlers, propagate in saved:
            x.setLevel(level)
            x.handlers, x.propagate = handlers, propagate
        if handler is not None:
            handler.close()


def stop_trials(ray) -> None:
    """Stops the running trials (ray.shutdown ends a local Ray and this driver's workers on a
    cluster), with a second Ctrl-C or a SIGTERM held back meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        ray.shutdown()
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        ray.shutdown()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


RUNNERS = {"ray": run_ray, "serial": run_serial}
