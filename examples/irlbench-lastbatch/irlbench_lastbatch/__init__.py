"""An outside IRL method for irlbench, packaged with an entry point (see pyproject.toml).

    reward(s, a) = log p_last(s, a)

the log-density of the state-action pairs of the learner's last observed batch: a demonstration
baseline that rewards doing what the demonstrations did. Tabular tasks: the visit frequencies,
with `smoothing` pseudo-counts for pairs never seen. MuJoCo tasks: a diagonal Gaussian fitted to
the batch's [observation, action] vectors, its standard deviations at least `min_std`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.config_fields import bounded, check_config
from methods.base import FitResult, IRLMethod, RecoveredReward


@dataclass(frozen=True)
class LastBatchDensityConfig:
    smoothing: float = bounded(1.0, gt=0)  # tabular: pseudo-count of every pair
    min_std: float = bounded(1e-3, gt=0)  # MuJoCo: the Gaussian's smallest std
    demo_batches: int = bounded(1, ge=1)  # the last batches that are the demonstrations

    def __post_init__(self) -> None:
        check_config(self, "method")


class LastBatchDensity(IRLMethod):
    """Reward = log-density of the last observed batch's state-action pairs (a plugin example)."""

    name = "last_batch_density"
    uses = "demonstrations"
    tracks = frozenset({"tabular", "mujoco"})
    Config = LastBatchDensityConfig

    def fit(self, data, task, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        batches = data.last(cfg.demo_batches)
        if task.tabular:
            counts = np.full((task.n_states, task.n_actions), cfg.smoothing)
            for batch in batches:
                np.add.at(counts, (batch.observations, batch.actions), 1.0)
            return FitResult(RecoveredReward(table=np.log(counts / counts.sum())))
        x = np.concatenate([np.concatenate([b.observations, b.actions], axis=1) for b in batches])
        mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), cfg.min_std)

        def log_density(obs, actions, next_obs):
            z = (np.concatenate([obs, actions], axis=1) - mean) / std
            return -0.5 * np.sum(z**2, axis=1) - np.sum(np.log(std))

        return FitResult(RecoveredReward(function=log_density), diagnostics={"pairs": len(x)})
