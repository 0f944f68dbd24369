"""A single-file irlbench plugin: `irlbench run SUITE --plugin examples/plugins/batch_progress.py`.

    reward(s, a) = log p_last(s, a) - log p_first(s, a)

Where the learner goes more often at the end of what was observed than at its start: the
direction of its progress, the simplest reward that uses the order of the batches (as LfL and
LOGEL do, and the demonstration methods do not). Tabular tasks: visit frequencies with `smoothing`
pseudo-counts (never-visited pairs stay finite). MuJoCo tasks: a diagonal Gaussian fitted to each
batch's [observation, action] vectors, standard deviations at least `min_std`. `temperature`
scales the reward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.config_fields import bounded, check_config
from methods.base import FitResult, IRLMethod, NotApplicable, RecoveredReward


@dataclass(frozen=True)
class BatchProgressConfig:
    smoothing: float = bounded(1.0, gt=0)
    min_std: float = bounded(1e-3, gt=0)
    temperature: float = bounded(1.0, gt=0)

    def __post_init__(self) -> None:
        check_config(self, "method")


def log_frequencies(batch, n_states: int, n_actions: int, smoothing: float) -> np.ndarray:
    counts = np.full((n_states, n_actions), smoothing)
    np.add.at(counts, (batch.observations, batch.actions), 1.0)
    return np.log(counts / counts.sum())


def gaussian_log_density(batch, min_std: float):
    x = np.concatenate([batch.observations, batch.actions], axis=1)
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), min_std)
    return lambda z: -0.5 * np.sum(((z - mean) / std) ** 2, axis=1) - np.sum(np.log(std))


class BatchProgress(IRLMethod):
    """Reward = log p_last(s, a) - log p_first(s, a): the direction of the learner's progress (a plugin example)."""

    name = "batch_progress"
    uses = "sequence"
    tracks = frozenset({"tabular", "mujoco"})
    Config = BatchProgressConfig

    def fit(self, data, task, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        if len(data.batches) < 2:
            raise NotApplicable("batch_progress needs at least two observed batches")
        first, last = data.batches[0], data.batches[-1]
        if task.tabular:
            table = (log_frequencies(last, task.n_states, task.n_actions, cfg.smoothing)
                     - log_frequencies(first, task.n_states, task.n_actions, cfg.smoothing))
            return FitResult(RecoveredReward(table=cfg.temperature * table))
        log_first, log_last = (gaussian_log_density(b, cfg.min_std) for b in (first, last))

        def reward(obs, actions, next_obs):
            z = np.concatenate([obs, actions], axis=1)
            return cfg.temperature * (log_last(z) - log_first(z))

        return FitResult(RecoveredReward(function=reward))
