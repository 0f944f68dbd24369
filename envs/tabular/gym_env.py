"""A gymnasium environment view of any TabularMDP, for the sample-based methods.

The MDP is continuing (resets are part of its dynamics), so episodes end only by truncation
after `max_episode_steps`. The reward is the MDP's reward; wrap it to train on a recovered one.
"""

from __future__ import annotations

import gymnasium as gym

from envs.tabular.mdp import TabularMDP


class TabularEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, mdp: TabularMDP, *, max_episode_steps: int = 200) -> None:
        self.mdp = mdp
        self.max_episode_steps = max_episode_steps
        self.observation_space = gym.spaces.Discrete(mdp.n_states)
        self.action_space = gym.spaces.Discrete(mdp.n_actions)
        self._state = 0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = int(self.np_random.choice(self.mdp.n_states, p=self.mdp.start))
        self._t = 0
        return self._state, {}

    def step(self, action):
        s, a = self._state, int(action)
        reward = float(self.mdp.reward[s, a])
        self._state = int(self.np_random.choice(self.mdp.n_states, p=self.mdp.transitions[s, a]))
        self._t += 1
        return self._state, reward, False, self._t >= self.max_episode_steps, {}
