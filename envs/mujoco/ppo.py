"""SB3 PPO on the MuJoCo tasks: the recorded learner, the local experts, and scoring.

Everything here runs in-process (DummyVecEnv), on one torch thread, with explicit seeds for SB3,
the environments and torch, so that a recording, an expert or a score is a deterministic function
of its config and seed. No observation normalization: the recorded batches are raw observations as
the environment emits them, and a policy acts on raw observations. Actions everywhere (learner
batches, expert demonstrations, what the observer's reward is asked about) are the actions the
environment executed: the policy's Gaussian samples clipped to the action space.

RecordRollouts, the SB3 callback that records the learner's batches, lives in envs.mujoco.rollouts;
torch and SB3 are imported by the functions that use them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from envs.datasets import Batch, default_cache_dir
from envs.seeding import seeded_global_rngs

if TYPE_CHECKING:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecEnv

Array = np.ndarray
# Every policy of a task is scored on the same episodes (start states, action noise): the learner's
# observed policies, the expert, the random policy and every observer, so that their scores compare
# on common random numbers.
EVAL_SEED = 40_000


@dataclass(frozen=True)
class PPOSettings:
    """SB3 PPO's settings (the LfL paper's learner: lr 3e-4, 10 epochs, 32 minibatches, clip 0.2,
    gamma 0.99, GAE 0.95, no entropy bonus; 64-64 tanh actor and critic). A profile scales
    n_envs and n_steps only."""

    n_envs: int = 32
    n_steps: int = 2048
    n_minibatches: int = 32
    n_epochs: int = 10
    learning_rate: float = 3e-4
    clip_range: float = 0.2
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.0

    @property
    def steps_per_update(self) -> int:
        return self.n_envs * self.n_steps


def vec_env(make: Callable[[], gym.Env], n: int, seed: int) -> VecEnv:
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([make] * n)
    venv.seed(seed)
    return venv


def make_ppo(venv: VecEnv, settings: PPOSettings, seed: int) -> PPO:
    import torch
    from stable_baselines3 import PPO

    return PPO("MlpPolicy", venv, seed=seed, device="cpu", n_steps=settings.n_steps,
               batch_size=max(1, settings.steps_per_update // settings.n_minibatches), n_epochs=settings.n_epochs,
               learning_rate=settings.learning_rate, clip_range=settings.clip_range, gamma=settings.gamma,
               gae_lambda=settings.gae_lambda, ent_coef=settings.ent_coef,
               policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": torch.nn.Tanh})


def mean_return(policy, make: Callable[[], gym.Env], episodes: int, seed: int, *, deterministic: bool = False) -> float:
    """Mean true return of `policy` (an SB3 policy or a callable obs -> actions) over `episodes`
    episodes, all run side by side (one batched forward pass a step). Stochastic by default: the
    observed behaviour of a learner is its sampled actions, drawn from generators seeded by `seed`
    (a score is a function of the policy and the seed, whatever state the caller's generators and
    thread count are in)."""
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


def record_learner(make: Callable[[], gym.Env], settings: PPOSettings, observed: list[int], *, seed: int,
                   eval_episodes: int, observed_envs: int = 1) -> tuple[list[Batch], list[float]]:
    """Train PPO until the last observed update's rollout is collected; returns the rollouts of
    environments 0..observed_envs-1 per observed update and the observed policies' mean true returns."""
    from envs.mujoco.rollouts import RecordRollouts

    with seeded_global_rngs(seed), torch_threads(1):
        venv = vec_env(make, settings.n_envs, seed)
        model = make_ppo(venv, settings, seed)
        recorder = RecordRollouts(observed, lambda policy: mean_return(policy, make, eval_episodes, EVAL_SEED),
                                  observed_envs)
        # the last observed rollout is collected at the start of update max(observed)
        model.learn(total_timesteps=(max(observed) + 1) * settings.steps_per_update, callback=recorder)
        venv.close()
    return recorder.batches, recorder.scores


def train_ppo(make: Callable[[], gym.Env], settings: PPOSettings, steps: int, *, seed: int) -> PPO:
    with seeded_global_rngs(seed), torch_threads(1):
        venv = vec_env(make, settings.n_envs, seed)
        model = make_ppo(venv, settings, seed)
        model.learn(total_timesteps=steps)
        venv.close()
    return model


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


def expert_cache_dir() -> Path:
    return default_cache_dir().parent / "experts"


def cached_expert(spec: dict[str, Any], train: Callable[[], PPO], cache_dir: Path | None = None) -> PPO:
    """The expert addressed by `spec` (everything that determines it), trained once and cached:
    an SB3 zip written atomically, beside a JSON of its spec and its training time. Trials that
    need the same expert at once wait for the one that trains it (a lock file per expert)."""
    import fcntl
    import time

    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    directory = cache_dir or expert_cache_dir()
    path = directory / f"{key}.zip"
    loaded = _load(path)
    if loaded is not None:  # no lock needed to read a finished file (a read-only cache included)
        return loaded
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / f"{key}.lock", "a")
    except OSError:
        return train()  # an uncacheable expert is trained for this trial alone
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        loaded = _load(path)  # another trial may have trained it meanwhile
        if loaded is not None:
            return loaded
        start = time.perf_counter()
        model = train()
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".zip")
            os.close(fd)
            model.save(tmp)
            os.replace(tmp, path)
            (directory / f"{key}.json").write_text(json.dumps({"spec": spec, "train_s": time.perf_counter() - start}))
        except OSError:
            pass  # used uncached
        finally:
            if tmp is not None and os.path.exists(tmp):
                os.unlink(tmp)
        return model


def _load(path: Path) -> PPO | None:
    """A cached model, or None where there is none or it does not load. SB3's load reseeds the
    global generators with the saved seed: the caller's are given back."""
    from stable_baselines3 import PPO

    if not path.exists():
        return None
    try:
        with seeded_global_rngs(0):
            return PPO.load(path, device="cpu")
    except Exception:  # a foreign or damaged file: train again
        return None


def demonstrations(policy, make: Callable[[], gym.Env], episodes: int, seed: int) -> Batch:
    """`episodes` whole episodes of `policy` (sampled actions, from generators seeded by `seed`,
    clipped to the action space as executed) as one batch, episode by episode."""
    with seeded_global_rngs(seed), torch_threads(1):
        return _demonstrations(policy, make, episodes, seed)


def _demonstrations(policy, make: Callable[[], gym.Env], episodes: int, seed: int) -> Batch:
    import torch

    rows: list[tuple[Array, Array, Array, bool, bool]] = []
    env = make()
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        start, done = True, False
        while not done:
            with torch.no_grad():
                action, _ = policy.predict(obs[None], deterministic=False)
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


