"""Execution backends: run resolved trials and hand each record to `on_record` as it finishes.

serial: in-process, one trial after another (debugging, tests). ray: one Ray Tune trial per
trial spec on a local Ray or an existing cluster; records travel back to the driver, which
alone writes the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

from benchmark.pipeline import run_trial
from envs.datasets import default_cache_dir

OnRecord = Callable[[dict[str, Any]], None]
BACKENDS = ("serial", "ray")


def run_serial(configs: list[dict[str, Any]], on_record: OnRecord, *, cache_dir: Path | None = None,
               cpus_per_trial: float = 1.0, **_: Any) -> None:
    import torch

    # Tabular trials are tiny: more torch threads only fight numpy's BLAS threads for the cores.
    torch.set_num_threads(max(1, int(cpus_per_trial)))
    for config in configs:
        on_record(run_trial(config, cache_dir=cache_dir))


def run_ray(configs: list[dict[str, Any]], on_record: OnRecord, *, cache_dir: Path | None = None,
            address: str | None = None, cpus_per_trial: float = 1.0) -> None:
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no experiment banner: the CLI has its own progress bar
    import ray
    from ray import tune

    cache = str((cache_dir or default_cache_dir()).resolve())
    ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
             configure_logging=False)

    def trainable(params: dict[str, Any]) -> None:
        import torch

        torch.set_num_threads(max(1, int(cpus_per_trial)))
        record = run_trial(params["config"], cache_dir=Path(params["cache_dir"]))
        tune.report({"record": json.dumps(record)})

    class StoreRecords(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            on_record(json.loads(result["record"]))

    storage = Path(os.environ.get("IRLBENCH_RAY_STORAGE", Path(cache).parent / "ray")).resolve()
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial}),
        param_space={"config": tune.grid_search(configs), "cache_dir": cache},
        # One worker process per CPU serves trial after trial: without reuse every trial pays a
        # fresh actor plus torch/SB3 imports (~3 s, more than most tabular trials take).
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(storage), callbacks=[StoreRecords()], verbose=0,
                                  failure_config=tune.FailureConfig(max_failures=0)),
    )
    tuner.fit()


RUNNERS = {"serial": run_serial, "ray": run_ray}
