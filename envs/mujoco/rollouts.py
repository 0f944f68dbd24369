"""The SB3 callback that records the MuJoCo learner's observed rollouts (envs.mujoco.ppo.record_learner's
recorder), apart from envs.mujoco.ppo because it subclasses SB3's BaseCallback."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from envs.datasets import Batch

Array = np.ndarray


class RecordRollouts(BaseCallback):
    """Before each observed update u, the rollouts of that update (the policy after u updates) in
    environments 0..n_observed-1, one environment's stream after the other: raw observations, the
    executed (clipped) actions, next observations (the terminal observation at an episode's end),
    episode starts and terminations (an episode's end that is not a time limit); and the policy's
    true score."""

    def __init__(self, observed: list[int], score: Callable[[Any], float], n_observed: int = 1) -> None:
        super().__init__()
        self.observed, self.score, self.n_observed = set(observed), score, n_observed
        self.update = -1
        self.batches: list[Batch] = []
        self.scores: list[float] = []
        self._rows: list[list[tuple[Array, Array, Array, bool, bool]]] = []
        self._starts = [True] * n_observed

    def _on_rollout_start(self) -> None:
        self.update += 1
        self._rows = [[] for _ in range(self.n_observed)]

    def _on_step(self) -> bool:
        dones, infos = self.locals["dones"], self.locals["infos"]
        recording = self.update in self.observed
        for i in range(self.n_observed):
            if recording:
                obs = self.locals["obs_tensor"][i].numpy().copy()
                action = self.locals["clipped_actions"][i].copy()  # what the environment executed
                done = bool(dones[i])
                next_obs = infos[i]["terminal_observation"] if done else self.locals["new_obs"][i]
                terminal = done and not infos[i].get("TimeLimit.truncated", False)
                self._rows[i].append((obs, action, np.asarray(next_obs).copy(), self._starts[i], terminal))
            self._starts[i] = bool(dones[i])
        return True

    def _on_rollout_end(self) -> None:
        if self.update in self.observed:
            columns = []
            for rows in self._rows:
                obs, actions, next_obs, starts, terminals = (np.stack(column) for column in zip(*rows))
                starts[0] = True  # the observer's stream of this environment begins here
                columns.append((obs, actions, next_obs, starts, terminals))
            obs, actions, next_obs, starts, terminals = (np.concatenate(c) for c in zip(*columns))
            self.batches.append(Batch(obs.astype(np.float32), actions.astype(np.float32),
                                      next_obs.astype(np.float32), starts.astype(bool), terminals.astype(bool)))
            self.scores.append(self.score(self.model.policy))
