"""The SB3 classes that record the MuJoCo learner's observed rollouts (envs.mujoco.ppo.record_learner),
apart from envs.mujoco.ppo because they subclass SB3's VecEnvWrapper and BaseCallback."""

from __future__ import annotations

from typing import Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from envs.datasets import Batch

Array = np.ndarray
Row = tuple[Array, Array, Array, bool, bool]


class RawTransitions(VecEnvWrapper):
    """A tap beneath the agent's VecNormalize: while `recording`, it keeps the transitions of
    environments 0..n_observed-1 as the environment made them: raw observations, the executed
    (clipped) actions, next observations (the terminal observation at an episode's end), episode
    starts and terminations (an episode's end that is not a time limit)."""

    def __init__(self, venv: VecEnv, n_observed: int) -> None:
        super().__init__(venv)
        self.n_observed, self.recording = n_observed, False
        self.rows: list[list[Row]] = [[] for _ in range(n_observed)]
        self._obs: Array | None = None
        self._actions: Array | None = None
        self._starts = np.ones(n_observed, dtype=bool)

    def reset(self) -> Array:
        self._obs = self.venv.reset()
        self._starts[:] = True
        return self._obs

    def step_async(self, actions: Array) -> None:
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        for i in range(self.n_observed):
            if self.recording:
                done = bool(dones[i])
                next_obs = infos[i]["terminal_observation"] if done else obs[i]
                terminal = done and not infos[i].get("TimeLimit.truncated", False)
                self.rows[i].append((self._obs[i].copy(), self._actions[i].copy(), np.asarray(next_obs).copy(),
                                     bool(self._starts[i]), terminal))
            self._starts[i] = bool(dones[i])
        self._obs = obs
        return obs, rewards, dones, infos

    def take(self) -> Batch:
        """The recorded rows as one batch, one environment's stream after the other, and a fresh start."""
        columns = []
        for rows in self.rows:
            obs, actions, next_obs, starts, terminals = (np.stack(column) for column in zip(*rows))
            starts[0] = True  # the observer's stream of this environment begins here
            columns.append((obs, actions, next_obs, starts, terminals))
        self.rows = [[] for _ in range(self.n_observed)]
        obs, actions, next_obs, starts, terminals = (np.concatenate(c) for c in zip(*columns))
        return Batch(obs.astype(np.float32), actions.astype(np.float32), next_obs.astype(np.float32),
                     starts.astype(bool), terminals.astype(bool))


class RecordRollouts(BaseCallback):
    """Before each observed update u (the policy after u updates), the tap records that update's
    rollout; at its end the batch is taken and the policy scored (`score()`, its statistics frozen)."""

    def __init__(self, observed: list[int], tap: RawTransitions, score: Callable[[], tuple[float, float]]) -> None:
        super().__init__()
        self.observed, self.tap, self.score = set(observed), tap, score
        self.update = -1
        self.batches: list[Batch] = []
        self.scores: list[tuple[float, float]] = []  # (mean return, its standard error)

    def _on_rollout_start(self) -> None:
        self.update += 1
        self.tap.recording = self.update in self.observed

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.tap.recording:
            self.tap.recording = False
            self.batches.append(self.tap.take())
            self.scores.append(self.score())
