"""A gymnasium environment view of any TabularMDP, for the sample-based methods.

The MDP is continuing (resets are part of its dynamics), so episodes end only by truncation
after `max_episode_steps`. The reward is the MDP's reward; wrap it to train on a recovered one.

TabularEnv, the gymnasium.Env, lives in envs.tabular.gym_env (gymnasium is imported with it);
TabularStreams, its numpy counterpart, here.
"""

from __future__ import annotations

import numpy as np


class TabularStreams:
    """n parallel streams of a tabular MDP's dynamics, stepped together in numpy.

    The vectorised counterpart of n TabularEnv copies for the sample-based methods' simulators:
    streams start from `start`, move by `transitions`, and restart (truncation, never termination)
    after `max_steps` steps."""

    def __init__(self, transitions: np.ndarray, start: np.ndarray, n: int, max_steps: int,
                 rng: np.random.Generator) -> None:
        self.cum_p, self.cum_start = np.cumsum(transitions, axis=2), np.cumsum(start)
        self.n, self.max_steps, self.rng = n, max_steps, rng
        self.state, self.t = self.starts(n), np.zeros(n, dtype=np.int64)

    def starts(self, k: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cum_start, self.rng.random(k), side="right"), len(self.cum_start) - 1)

    def reset(self) -> np.ndarray:
        self.state, self.t = self.starts(self.n), np.zeros(self.n, dtype=np.int64)
        return self.state.copy()

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Moves every stream by its action; returns (s', truncated). Truncated streams restart in
        `self.state`; s' is where they were before the restart."""
        cum = self.cum_p[self.state, actions]
        s_next = np.minimum((cum <= self.rng.random(self.n)[:, None]).sum(axis=1), cum.shape[1] - 1)
        self.t += 1
        truncated = self.t >= self.max_steps
        self.state = s_next.copy()
        if truncated.any():
            self.state[truncated] = self.starts(int(truncated.sum()))
            self.t[truncated] = 0
        return s_next, truncated

    def act(self, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Acts with a policy table (S, A); returns (s, a, s', terminal), terminal all False (the
        streams are only truncated: a time limit restarts a stream, and s' is still a real next state)."""
        s = self.state
        a = (policy[s].cumsum(axis=1) <= self.rng.random(self.n)[:, None]).sum(axis=1)
        a = np.minimum(a, policy.shape[1] - 1)
        s_next, _ = self.step(a)
        return s, a, s_next, np.zeros(self.n, dtype=bool)
