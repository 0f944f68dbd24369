"""Adversarial imitation: GAIL (Ho & Ermon 2016) and AIRL (Fu, Luo & Levine 2018), via `imitation`.

Both train a generator policy pi (here stable-baselines3 PPO) against a discriminator D that tells
the demonstrator's transitions (label 1) from the generator's (label 0):

    repeat for total_timesteps / (n_envs * n_steps) rounds:
        roll out pi in the simulator for n_envs * n_steps steps, rewarded by the current reward net
        one PPO update of pi on those steps
        n_disc_updates_per_round steps of Adam on the logistic loss of D:
            demonstrator batch (s, a, s') vs an equally large batch from the generator's last rollouts

    GAIL:  logit D(s, a)       = L_theta(s, a)                    (an MLP on one-hot s, a)
           generator reward    = -log(1 - D) = softplus(L_theta)
    AIRL:  logit D(s, a, s')   = f(s, a, s') - log pi(a|s),   f = g_theta(s) + gamma h_phi(s') - h_phi(s)
           generator reward    = f; the disentangled reward is g_theta (state-only, AIRL section 5)

The implementations are imitation 1.0.1's (GAIL, AIRL, BasicRewardNet, BasicShapedRewardNet); this
module converts the observer's data and the tabular task into their types and reads out tables:

* Demonstrations: the last `demo_batches` batches, as imitation Transitions (dones all False: the
  observed stream is continuing). States and actions are Discrete indices; imitation's reward nets
  and SB3's policies one-hot encode them (stable_baselines3.common.preprocessing.preprocess_obs).
* Simulator: the granted dynamics as n_envs numpy streams (TabularVecEnv over envs.tabular.streams.
  TabularStreams: one vectorised draw per step instead of DummyVecEnv's n Python env steps) with an
  all-zero reward (the true reward is never used; imitation replaces it with the learned one),
  started from the task's start distribution, truncated after max_episode_steps (the simulator's streams).
* Recovered reward, an (S, A) table in the units of the task's soft objective (entropy weight alpha):
  AIRL: alpha * g_theta(s). At AIRL's optimum f = log pi_E(a|s) = (Q*_soft - V*_soft) / alpha_E,
        i.e. the discriminator measures rewards in nats (entropy weight 1); multiplying by alpha
        converts nats to the task's reward units, so the observer (soft-optimal at alpha) faces the
        same trade-off the demonstrator did. g is state-only, as the AIRL paper prescribes for a
        reward that is disentangled from the dynamics (the gridworld's true reward is state-only).
  GAIL: alpha * L_theta(s, a). The logit is the discriminator's estimate of ln(rho_E / rho_pi) (a
        log occupancy ratio, also in nats); it is GAIL's reward up to the monotone softplus that
        the generator sees. GAIL recovers no reward in theory (D -> 1/2 at the equilibrium); the
        table is what its discriminator believes when training stops.
  PPO normalises advantages, so its ent_coef fixes no reward unit; nats are the only unit either
  discriminator defines.
* Policy: the generator's action probabilities at every one-hot state.

Hyperparameters follow imitation's tuned benchmark configs (benchmarking/example_{gail,airl}_seals_
hopper_best_hp_eval.json: PPO clip 0.1, gae_lambda 0.98, max_grad_norm 0.9, vf_coef 0.2; 16
discriminator updates per round as for AIRL) adapted to a 25-state gridworld: gamma is the task's,
64 environments x 32 steps per round, PPO 10 epochs of minibatch 512, demonstrator batch 512, one
hidden layer of 32 units everywhere (imitation's reward-net default) with no input normalisation
(inputs are one-hot), and much larger learning rates (PPO 1e-2, discriminator 3e-2) because the
tuned ones (5.8e-4 / 4.4e-5, 1e-3) do not move within a gridworld budget. Round size, measured at
65,536 generator steps on 1000 expert pairs, seeds 0-2, two fits at a time on 2 cores (observer
regret / generator regret / fit s):
16 x 32 steps with minibatch 128: GAIL 9.0-29.9 / 1.1-2.4 / 24-26 s, AIRL 7.0-26.8 / 0.9-1.9 / 25-29 s;
64 x 32 with minibatch 512: GAIL 5.3-30.3 / 0.3-0.7 / 6-7 s, AIRL 1.0-1.9 / 0.5-1.3 / 7-8 s. Fewer,
larger rounds are four times faster (a quarter of the PPO minibatch steps) and no worse. imitation
and SB3 draw from the global numpy/torch/random generators, so fit seeds them from `seed` and
restores them afterwards.
"""

from __future__ import annotations

import tempfile
import warnings
from abc import abstractmethod
from dataclasses import dataclass
from collections.abc import Iterator
from typing import ClassVar

import gymnasium as gym
import numpy as np
import torch
from imitation.algorithms.adversarial.airl import AIRL as ImitationAIRL
from imitation.algorithms.adversarial.common import AdversarialTrainer
from imitation.algorithms.adversarial.gail import GAIL as ImitationGAIL
from imitation.data.types import Transitions
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, RewardNet
from imitation.util import logger as imitation_logger
from imitation.util import networks
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecEnv

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from envs.seeding import seeded_global_rngs
from envs.tabular.streams import TabularStreams
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo

Array = np.ndarray


@dataclass(frozen=True)
class AdversarialConfig:
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    # generator environment steps (imitation's benchmark: 10M on MuJoCo)
    total_timesteps: int = bounded(1_000_000, ge=1)
    max_episode_steps: int = bounded(100, ge=1)  # simulator episodes are truncated here (the task itself is continuing)
    n_envs: int = bounded(64, ge=1)
    n_steps: int = bounded(32, ge=1)  # PPO rollout length per environment = one adversarial round of n_envs * n_steps
    batch_size: int = bounded(512, ge=2)  # PPO minibatch (SB3 normalises advantages over it: at least 2)
    n_epochs: int = bounded(10, ge=1)
    # PPO Adam (imitation's tuned 5.8e-4 barely moves in a gridworld budget)
    learning_rate: float = bounded(1e-2, gt=0.0)
    ent_coef: float = bounded(0.0, ge=0.0)
    gae_lambda: float = bounded(0.98, ge=0.0, le=1.0)
    clip_range: float = bounded(0.1, gt=0.0)
    vf_coef: float = bounded(0.2, ge=0.0)
    max_grad_norm: float = bounded(0.9, gt=0.0)  # 0 would clip every gradient to nothing
    demo_batch_size: int = bounded(512, ge=1)  # demonstrator samples per discriminator step (capped at the demo count)
    n_disc_updates_per_round: int = bounded(16, ge=1)  # imitation AIRL benchmark
    # discriminator Adam (imitation's default 1e-3 is far too slow here)
    disc_learning_rate: float = bounded(3e-2, gt=0.0)
    hidden: int = bounded(32, ge=1)  # one hidden layer for reward, potential, policy and value networks
    # alpha: table = task.alpha * net output (nats -> reward units)
    reward_scale: str = one_of("alpha", "alpha", "none")

    def __post_init__(self) -> None:
        check_config(self, "method")
        rollout = self.n_envs * self.n_steps
        if rollout < 2:
            raise ValueError(f"method.n_envs * method.n_steps = {rollout} is too small "
                             "(valid: n_envs * n_steps >= 2, SB3 normalises advantages over a rollout)")
        if self.total_timesteps < rollout:
            raise ValueError(f"method.total_timesteps = {self.total_timesteps} is less than one round "
                             f"(valid: total_timesteps >= n_envs * n_steps = {rollout})")


PROFILES: dict[str, dict] = {
    "smoke": {"total_timesteps": 49_152},  # 24 rounds: fewer leave AIRL's generator short of the expert
    "quick": {"total_timesteps": 65_536},
    "paper": {"total_timesteps": 1_000_000},
}


def demonstrations(data: ObservationDataset, m: int) -> Transitions:
    """The last m batches as imitation Transitions; the stream never terminates, so dones are False."""
    batches = data.last(m)
    obs = np.concatenate([b.observations for b in batches]).astype(np.int64)
    return Transitions(
        obs=obs,
        acts=np.concatenate([b.actions for b in batches]).astype(np.int64),
        next_obs=np.concatenate([b.next_observations for b in batches]).astype(np.int64),
        dones=np.zeros(len(obs), dtype=bool),
        infos=np.array([{}] * len(obs)),
    )


class DemonstrationBatches:
    """Endless-epoch minibatches of the demonstrations, shuffled by our own generator.

    imitation would wrap Transitions in a torch DataLoader that collates sample by sample (slow at
    thousands of samples per discriminator step) and shuffles with torch's global generator."""

    def __init__(self, demos: Transitions, batch_size: int, rng: np.random.Generator) -> None:
        self.demos, self.batch_size, self.rng = demos, batch_size, rng

    def __iter__(self) -> Iterator[dict[str, Array]]:
        order = self.rng.permutation(len(self.demos))
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            idx = order[start:start + self.batch_size]
            yield {"obs": self.demos.obs[idx], "acts": self.demos.acts[idx], "next_obs": self.demos.next_obs[idx],
                   "dones": self.demos.dones[idx], "infos": self.demos.infos[idx]}


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


class AdversarialIRL(IRLMethod):
    """Shared code path of GAIL and AIRL; subclasses choose the discriminator."""

    uses: ClassVar[str] = "demonstrations"
    needs_simulator: ClassVar[bool] = True
    Config: ClassVar[type] = AdversarialConfig
    profiles: ClassVar[dict[str, dict]] = PROFILES

    @abstractmethod
    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        """The discriminator's reward net."""

    @abstractmethod
    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        """imitation's trainer of this method."""

    @abstractmethod
    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        """The net whose (S, A) output is the recovered reward (in nats)."""

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: AdversarialConfig = self.config
        n_s, n_a = task.n_states, task.n_actions
        demos = demonstrations(data, cfg.demo_batches)
        rng = np.random.default_rng(seed)
        env_seed, torch_seed = (int(x) for x in rng.integers(0, 2**31 - 1, size=2))
        demo_batch_size = min(cfg.demo_batch_size, len(demos))
        with seeded_global_rngs(torch_seed), tempfile.TemporaryDirectory() as log_dir, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="tried to wrap")  # imitation's notice on scalar Discrete obs
            venv = simulator(task, cfg, env_seed)
            reward_net = self.make_reward_net(venv, task)
            generator = PPO(
                "MlpPolicy", venv, seed=torch_seed, n_steps=cfg.n_steps, batch_size=cfg.batch_size,
                n_epochs=cfg.n_epochs, learning_rate=cfg.learning_rate, gamma=task.gamma,
                gae_lambda=cfg.gae_lambda, clip_range=cfg.clip_range, ent_coef=cfg.ent_coef,
                vf_coef=cfg.vf_coef, max_grad_norm=cfg.max_grad_norm, device="cpu",
                policy_kwargs={"net_arch": {"pi": [cfg.hidden], "vf": [cfg.hidden]}})
            trainer = self.make_trainer(
                demonstrations=DemonstrationBatches(demos, demo_batch_size, rng), demo_batch_size=demo_batch_size,
                venv=venv,
                gen_algo=generator, reward_net=reward_net,
                n_disc_updates_per_round=cfg.n_disc_updates_per_round,
                disc_opt_kwargs={"lr": cfg.disc_learning_rate},
                gen_replay_buffer_capacity=cfg.n_envs * cfg.n_steps,
                custom_logger=imitation_logger.configure(log_dir, format_strs=[]),
                log_dir=log_dir)
            n_rounds = cfg.total_timesteps // trainer.gen_train_timesteps
            for _ in range(n_rounds):  # AdversarialTrainer.train without its progress bar and log dumps
                trainer.train_gen(trainer.gen_train_timesteps)
                with networks.training(trainer.reward_train):
                    for _ in range(cfg.n_disc_updates_per_round):
                        stats = trainer.train_disc()
            nats = reward_table(self.readout_net(trainer), n_s, n_a)
            policy = policy_table(generator, n_s)
            venv.close()
        scale = task.alpha if cfg.reward_scale == "alpha" else 1.0
        return FitResult(RecoveredReward(table=scale * nats), policy=policy, diagnostics={
            "rounds": int(n_rounds), "generator_timesteps": int(n_rounds * trainer.gen_train_timesteps),
            "disc_loss": float(stats["disc_loss"]), "disc_acc": float(stats["disc_acc"]),
            "reward_scale": float(scale)})


class GAIL(AdversarialIRL):
    """Generative adversarial imitation learning (Ho & Ermon 2016): a state-action discriminator."""

    name: ClassVar[str] = "gail"

    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        return BasicRewardNet(venv.observation_space, venv.action_space, use_state=True, use_action=True,
                              hid_sizes=(self.config.hidden,), normalize_input_layer=None)

    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        return ImitationGAIL(**kwargs)

    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        return trainer._reward_net  # the logit L(s, a); reward_train is softplus(L)


class AIRL(AdversarialIRL):
    """Adversarial IRL (Fu, Luo & Levine 2018): f = g(s) + gamma h(s') - h(s), reward g."""

    name: ClassVar[str] = "airl"

    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        return BasicShapedRewardNet(venv.observation_space, venv.action_space, use_state=True, use_action=False,
                                    reward_hid_sizes=(self.config.hidden,),
                                    potential_hid_sizes=(self.config.hidden,),
                                    discount_factor=task.gamma, normalize_input_layer=None)

    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        return ImitationAIRL(**kwargs)

    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        return trainer.reward_test  # the base g of the shaped net
