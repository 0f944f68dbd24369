"""SB3 PPO on the MuJoCo tasks: the recorded learner, the observer's agent, and scoring.

Everything here runs in-process (DummyVecEnv), on one torch thread, with explicit seeds for SB3,
the environments and torch, so that a recording or a score is a deterministic function of its
config and seed.

Normalization, the field's way (SB3's VecNormalize, as rl-baselines3-zoo sets it for every MuJoCo
task and as the LfL paper's PPO had it): running observation statistics and a return-based reward
scale, on by default (`PPOSettings.normalize`). It lives inside the agent: the environment below it
is raw, so that recorded batches and what a recovered reward is asked about are the environment's
own observations; a policy is scored through `NormalizedPolicy`, which carries a frozen copy of
the statistics. Actions everywhere (batches, demonstrations, rewards' inputs) are the actions the
environment executed: the policy's Gaussian samples clipped to the action space.

RecordRollouts and RawTransitions, the SB3 classes that record the learner's batches, live in
envs.mujoco.rollouts; torch and SB3 are imported by the functions that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from envs.datasets import Batch
from envs.seeding import seeded_global_rngs

if TYPE_CHECKING:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecEnv, VecNormalize

Array = np.ndarray
# Every policy of a task is scored on the same episodes (start states, action noise): the learner's
# observed policies, the expert, the random policy and every observer, so that their scores compare
# on common random numbers.
EVAL_SEED = 40_000
ACTIVATIONS = ("tanh", "relu")


@dataclass(frozen=True)
class PPOSettings:
    """SB3 PPO's settings. Defaults: the LfL paper's learner (lr 3e-4, 10 epochs, 32 minibatches,
    clip 0.2, gamma 0.99, GAE 0.95, no entropy bonus, separate 64-64 tanh actor and critic) with
    the field's normalization. The experts' recipes (envs/mujoco/experts/recipes.toml) set the rest
    to published tuned values. A profile scales n_envs and n_steps only."""

    n_envs: int = 32
    n_steps: int = 2048
    n_minibatches: int = 32
    n_epochs: int = 10
    learning_rate: float = 3e-4
    clip_range: float = 0.2
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    log_std_init: float = 0.0
    ortho_init: bool = True
    normalize: bool = True  # VecNormalize: running observation statistics, return-based reward scale

    @property
    def steps_per_update(self) -> int:
        return self.n_envs * self.n_steps

    @property
    def batch_size(self) -> int:
        return max(1, self.steps_per_update // self.n_minibatches)


@dataclass(frozen=True)
class ObsNormalization:
    """Frozen observation statistics: obs -> clip((obs - mean) / sqrt(var + epsilon), -clip, clip),
    VecNormalize's transform. Identity where mean is None (an agent without normalization)."""

    mean: Array | None = None
    var: Array | None = None
    clip: float = 10.0
    epsilon: float = 1e-8

    def __call__(self, obs: Array) -> Array:
        if self.mean is None:
            return obs
        return np.clip((obs - self.mean) / np.sqrt(self.var + self.epsilon), -self.clip, self.clip).astype(np.float32)

    @classmethod
    def of(cls, venv: VecNormalize | None) -> ObsNormalization:
        """A copy of a VecNormalize's current observation statistics (identity for None)."""
        if venv is None or not venv.norm_obs:
            return cls()
        return cls(venv.obs_rms.mean.copy(), venv.obs_rms.var.copy(), float(venv.clip_obs), float(venv.epsilon))


class NormalizedPolicy:
    """An SB3 policy that acts on raw observations through frozen statistics (what is scored)."""

    def __init__(self, policy, normalization: ObsNormalization) -> None:
        self.policy, self.normalization = policy, normalization

    def predict(self, obs: Array, deterministic: bool = False) -> tuple[Array, None]:
        return self.policy.predict(self.normalization(obs), deterministic=deterministic)

    @classmethod
    def of(cls, model: PPO) -> NormalizedPolicy:
        """A PPO agent's policy with a frozen copy of its environment's current statistics."""
        return cls(model.policy, ObsNormalization.of(model.get_vec_normalize_env()))


def vec_env(make: Callable[[], gym.Env], n: int, seed: int) -> VecEnv:
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([make] * n)
    venv.seed(seed)
    return venv


def make_ppo(venv: VecEnv, settings: PPOSettings, seed: int) -> PPO:
    """SB3 PPO on `venv` (raw), wrapped in VecNormalize when settings.normalize."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecNormalize

    if settings.normalize:
        venv = VecNormalize(venv, gamma=settings.gamma)
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[settings.activation]
    hidden = list(settings.hidden)
    return PPO("MlpPolicy", venv, seed=seed, device="cpu", n_steps=settings.n_steps, batch_size=settings.batch_size,
               n_epochs=settings.n_epochs, learning_rate=settings.learning_rate, clip_range=settings.clip_range,
               gamma=settings.gamma, gae_lambda=settings.gae_lambda, ent_coef=settings.ent_coef,
               vf_coef=settings.vf_coef, max_grad_norm=settings.max_grad_norm,
               policy_kwargs={"net_arch": {"pi": hidden, "vf": list(hidden)}, "activation_fn": activation,
                              "log_std_init": settings.log_std_init, "ortho_init": settings.ortho_init})


def mean_return(policy, make: Callable[[], gym.Env], episodes: int, seed: int, *, deterministic: bool = False) -> float:
    """Mean true return of `policy` (anything with SB3's predict, or a callable obs -> actions)
    over `episodes` episodes, all run side by side (one batched forward pass a step). Stochastic by
    default: the observed behaviour of a learner is its sampled actions, drawn from generators
    seeded by `seed` (a score is a function of the policy and the seed, whatever state the caller's
    generators and thread count are in)."""
    return float(episode_stats(policy, make, episodes, seed, deterministic=deterministic)[0].mean())


def episode_stats(policy, make: Callable[[], gym.Env], episodes: int, seed: int, *,
                  deterministic: bool = False) -> tuple[Array, Array]:
    """(returns, lengths) of the `episodes` episodes mean_return scores."""
    with seeded_global_rngs(seed), torch_threads(1):
        return _episode_stats(policy, make, episodes, seed, deterministic)


def _episode_stats(policy, make: Callable[[], gym.Env], episodes: int, seed: int,
                   deterministic: bool) -> tuple[Array, Array]:
    import torch

    envs = [make() for _ in range(episodes)]
    space = envs[0].action_space
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns, lengths, running = np.zeros(episodes), np.zeros(episodes, dtype=int), np.ones(episodes, dtype=bool)
    while running.any():
        with torch.no_grad():
            if callable(policy) and not hasattr(policy, "predict"):
                actions = policy(obs)
            else:
                actions, _ = policy.predict(obs, deterministic=deterministic)
        actions = np.clip(actions, space.low, space.high)
        for i in np.flatnonzero(running):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += reward
            lengths[i] += 1
            running[i] = not (terminated or truncated)
    for env in envs:
        env.close()
    return returns, lengths


def mean_and_se(policy, make: Callable[[], gym.Env], episodes: int, seed: int, *,
                deterministic: bool = False) -> tuple[float, float]:
    """A policy's mean true return and its standard error over the episodes (0 for one episode)."""
    returns = episode_stats(policy, make, episodes, seed, deterministic=deterministic)[0]
    return float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else 0.0


def record_learner(make: Callable[[], gym.Env], settings: PPOSettings, observed: list[int], *, seed: int,
                   eval_episodes: int, observed_envs: int = 1) -> tuple[list[Batch], list[tuple[float, float]]]:
    """Train PPO until the last observed update's rollout is collected; returns the raw rollouts of
    environments 0..observed_envs-1 per observed update and the observed policies' mean true returns
    with their standard errors (each scored with its statistics frozen as they were at the end of
    that rollout)."""
    from envs.mujoco.rollouts import RawTransitions, RecordRollouts

    with seeded_global_rngs(seed), torch_threads(1):
        tap = RawTransitions(vec_env(make, settings.n_envs, seed), observed_envs)
        model = make_ppo(tap, settings, seed)
        recorder = RecordRollouts(observed, tap, lambda: mean_and_se(NormalizedPolicy.of(model), make, eval_episodes,
                                                                     EVAL_SEED))
        # the last observed rollout is collected at the start of update max(observed)
        model.learn(total_timesteps=(max(observed) + 1) * settings.steps_per_update, callback=recorder)
        model.get_env().close()
    return recorder.batches, recorder.scores


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """n torch threads inside the block (one: determinism, and one core per trial)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def demonstrations(policy, make: Callable[[], gym.Env], episodes: int, seed: int, *,
                   deterministic: bool = True) -> Batch:
    """`episodes` whole episodes of `policy` (anything with SB3's predict on raw observations;
    deterministic by default, as experts are reported; sampled actions from generators seeded by
    `seed` otherwise), clipped to the action space as executed, as one batch, episode by episode."""
    with seeded_global_rngs(seed), torch_threads(1):
        return _demonstrations(policy, make, episodes, seed, deterministic)


def _demonstrations(policy, make: Callable[[], gym.Env], episodes: int, seed: int, deterministic: bool) -> Batch:
    import torch

    rows: list[tuple[Array, Array, Array, bool, bool]] = []
    env = make()
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        start, done = True, False
        while not done:
            with torch.no_grad():
                action, _ = policy.predict(obs[None], deterministic=deterministic)
            action = np.clip(action[0], env.action_space.low, env.action_space.high)
            next_obs, _, terminated, truncated, _ = env.step(action)
            rows.append((obs, action, next_obs, start, terminated))
            obs, start, done = next_obs, False, terminated or truncated
    env.close()
    obs, actions, next_obs, starts, terminals = (np.stack(column) for column in zip(*rows))
    return Batch(obs.astype(np.float32), actions.astype(np.float32), next_obs.astype(np.float32), starts.astype(bool),
                 terminals.astype(bool))


def random_score(make: Callable[[], gym.Env], episodes: int, seed: int) -> float:
    """Mean true return of uniformly random actions."""
    env = make()
    space = env.action_space
    env.close()
    rng = np.random.default_rng(seed)
    return mean_return(lambda obs: rng.uniform(space.low, space.high, size=(len(obs), *space.shape)), make,
                       episodes, seed)
