"""The imitation and stable-baselines3 machinery of GAIL and AIRL (methods/adversarial.py, whose module
docstring describes both forms): the vectorised tabular simulator, the generator, the training rounds
and the readouts of the reward nets and the generator's policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch
from imitation.algorithms.adversarial.common import AdversarialTrainer
from imitation.policies.base import NormalizeFeaturesExtractor
from imitation.rewards.reward_nets import RewardNet
from imitation.util import networks
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from envs.tabular.streams import TabularStreams
from methods.base import TaskInfo

if TYPE_CHECKING:
    from methods.adversarial import AdversarialConfig, AdversarialContinuousConfig

Array = np.ndarray


class TabularVecEnv(VecEnv):
    """envs.tabular.streams.TabularStreams behind SB3's VecEnv interface, with a zero reward (imitation
    replaces it with the learned one; methods never see the true one).

    DummyVecEnv would step n gymnasium TabularEnv copies one by one in Python; this is the same
    process with one vectorised draw per step (the last state before a restart is kept in
    info["terminal_observation"], as SB3 expects)."""

    def __init__(self, streams: TabularStreams, n_states: int, n_actions: int) -> None:
        self.render_mode = None  # nothing to render; VecEnv asks before it is initialised
        super().__init__(streams.n, gym.spaces.Discrete(n_states), gym.spaces.Discrete(n_actions))
        self.streams = streams
        self.actions = np.zeros(streams.n, dtype=np.int64)

    def reset(self) -> Array:
        return self.streams.reset()

    def step_async(self, actions: Array) -> None:
        self.actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self):
        s_next, truncated = self.streams.step(self.actions)
        infos = [{"TimeLimit.truncated": bool(t)} for t in truncated]
        for info, state, t in zip(infos, s_next, truncated):
            if t:
                info["terminal_observation"] = state
        return self.streams.state.copy(), np.zeros(self.num_envs, dtype=np.float32), truncated.copy(), infos

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list:
        return [getattr(self, method_name)(*args, **kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))


def simulator(task: TaskInfo, cfg: AdversarialConfig, seed: int) -> TabularVecEnv:
    """n_envs streams of the task's dynamics with a zero reward (methods never see the true one)."""
    streams = task.simulator.make_streams(cfg.n_envs, cfg.max_episode_steps, np.random.default_rng(seed))
    return TabularVecEnv(streams, task.n_states, task.n_actions)


def reward_table(net: RewardNet, n_states: int, n_actions: int) -> Array:
    """(S, A) output of a reward net on every pair (the next state is a dummy: the nets ignore it)."""
    states = np.repeat(np.arange(n_states), n_actions)
    actions = np.tile(np.arange(n_actions), n_states)
    with torch.no_grad():
        values = net(*net.preprocess(states, actions, states, np.zeros(len(states), dtype=bool)))
    return values.numpy().astype(float).reshape(n_states, n_actions)


def policy_table(model: PPO, n_states: int) -> Array:
    """(S, A) action probabilities of the generator at every (one-hot encoded) state."""
    with torch.no_grad():
        probs = model.policy.get_distribution(torch.arange(n_states)).distribution.probs
    probs = probs.numpy().astype(float)
    return probs / probs.sum(axis=1, keepdims=True)  # exact rows in float64 (torch computes in float32)


class TestReward:
    """An imitation reward net's forward pass on three float32 tensors (obs, actions, next_obs) -> (N,),
    in evaluation mode (its RunningNorm layers frozen); done is False (neither reward_test reads it)."""

    def __init__(self, net: RewardNet) -> None:
        self.net = net.eval().requires_grad_(False)

    def __call__(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        with networks.evaluating(self.net):
            return self.net(*self.net.preprocess(obs, actions, next_obs, torch.zeros(len(obs))))


def generator(venv: VecEnv, cfg: AdversarialContinuousConfig, seed: int) -> PPO:
    """SB3 PPO as imitation's benchmark builds it: rollout_steps / n_envs steps per environment a round,
    observations through a RunningNorm, separate actor and critic of two policy_hidden layers."""
    activation = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[cfg.policy_activation]
    hidden = [cfg.policy_hidden] * 2
    return PPO(
        "MlpPolicy", venv, seed=seed, device="cpu", n_steps=cfg.rollout_steps // cfg.n_envs,
        batch_size=min(cfg.batch_size, cfg.rollout_steps), n_epochs=cfg.n_epochs, learning_rate=cfg.learning_rate,
        gamma=cfg.generator_gamma, gae_lambda=cfg.gae_lambda, clip_range=cfg.clip_range, ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm,
        policy_kwargs={"net_arch": {"pi": hidden, "vf": hidden}, "activation_fn": activation,
                       "features_extractor_class": NormalizeFeaturesExtractor,
                       "features_extractor_kwargs": {"normalize_class": networks.RunningNorm}})


def train_rounds(trainer: AdversarialTrainer, total_timesteps: int, n_disc_updates: int) -> tuple[int, dict]:
    """imitation's AdversarialTrainer.train without its progress bar and log dumps: rounds of one
    generator update and n_disc_updates discriminator steps; (rounds, the last step's statistics)."""
    n_rounds, stats = total_timesteps // trainer.gen_train_timesteps, {}
    for _ in range(n_rounds):
        trainer.train_gen(trainer.gen_train_timesteps)
        with networks.training(trainer.reward_train):
            for _ in range(n_disc_updates):
                stats = trainer.train_disc()
    return n_rounds, stats
