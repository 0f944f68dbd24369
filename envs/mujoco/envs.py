"""The MuJoCo environments of the suite, and the reward-hidden view an observer is given.

Variable horizon: gymnasium's v4 environments (the LfL paper's tasks; Hopper, Walker2d and Ant
end an episode when the body falls). Fixed horizon: the `seals` forms (imitation's benchmark),
which never terminate early, because an episode's length leaks the reward through termination.
Reacher already runs a fixed 50 steps and has no seals form: its fixed form is Reacher-v4.

HiddenReward, the gymnasium.Wrapper that hides the reward, lives in envs.mujoco.hidden_reward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    import gymnasium as gym

ENV_IDS: dict[str, tuple[str, str]] = {  # task -> (variable-horizon id, fixed-horizon id)
    "reacher": ("Reacher-v4", "Reacher-v4"),
    "hopper": ("Hopper-v4", "seals/Hopper-v1"),
    "halfcheetah": ("HalfCheetah-v4", "seals/HalfCheetah-v1"),
    "ant": ("Ant-v4", "seals/Ant-v1"),
    "walker2d": ("Walker2d-v4", "seals/Walker2d-v1"),
}


def env_id(task: str, fixed_horizon: bool) -> str:
    return ENV_IDS[task][1 if fixed_horizon else 0]


def make_env(task: str, fixed_horizon: bool) -> gym.Env:
    """The task's environment with its true reward (for learners, experts and scoring only)."""
    import gymnasium as gym

    name = env_id(task, fixed_horizon)
    if name.startswith("seals/"):
        import seals  # noqa: F401  (registers the seals/ ids)
    return gym.make(name)


def hidden_env_factory(task: str, fixed_horizon: bool) -> Callable[[], gym.Env]:
    from envs.mujoco.hidden_reward import HiddenReward

    return lambda: HiddenReward(make_env(task, fixed_horizon))


def spaces(task: str, fixed_horizon: bool) -> tuple[gym.Space, gym.Space]:
    env = make_env(task, fixed_horizon)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def random_actions_rate(task: str, fixed_horizon: bool, seconds: float, seed: int = 0) -> float:
    """Raw environment steps per second with uniformly random actions (the speed limit of a track)."""
    import time

    env = make_env(task, fixed_horizon)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = np.stack([env.action_space.sample() for _ in range(1000)])
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(actions[steps % 1000])
        steps += 1
        if terminated or truncated:
            env.reset()
    env.close()
    return steps / (time.perf_counter() - start)
