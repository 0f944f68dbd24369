"""The reward-hidden view of a MuJoCo environment that an observer is given
(envs.mujoco.envs.hidden_env_factory), apart from envs.mujoco.envs because it subclasses gymnasium.Wrapper."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class HiddenReward(gym.Wrapper):
    """The simulator an observer may roll out in: every step returns reward 0.0 and an empty info
    dict (gymnasium's MuJoCo environments put the reward's terms there: reward_run, reward_ctrl,
    x_velocity, forward_reward, ...). Termination stays the environment's."""

    def reset(self, **kwargs) -> tuple[Any, dict]:
        observation, _ = self.env.reset(**kwargs)
        return observation, {}

    def step(self, action) -> tuple[Any, float, bool, bool, dict]:
        observation, _, terminated, truncated, _ = self.env.step(action)
        return observation, 0.0, terminated, truncated, {}
