"""Adversarial imitation: GAIL (Ho & Ermon 2016) and AIRL (Fu, Luo & Levine 2018), via `imitation`.

Both train a generator policy pi (here stable-baselines3 PPO) against a discriminator D that tells
the demonstrator's transitions (label 1) from the generator's (label 0):

    repeat for total_timesteps / (n_envs * n_steps) rounds:
        roll out pi in the simulator for n_envs * n_steps steps, rewarded by the current reward net
        one PPO update of pi on those steps
        n_disc_updates_per_round steps of Adam on the logistic loss of D:
            demonstrator batch (s, a, s') vs an equally large batch from the generator's last rollouts

    GAIL:  logit D(s, a)       = L_theta(s, a)                    (an MLP on s, a)
           generator reward    = -log(1 - D) = softplus(L_theta)
    AIRL:  logit D(s, a, s')   = f(s, a, s') - log pi(a|s),   f = g_theta(s[, a]) + gamma h_phi(s') - h_phi(s)
           generator reward    = f; the disentangled reward is g_theta (state-only, AIRL section 5)

The implementations are imitation 1.0.1's (GAIL, AIRL, BasicRewardNet, BasicShapedRewardNet); this
module converts the observer's data and the task into their types and reads out the rewards.

Tabular form (gridworlds; AdversarialConfig). Inputs are one-hot, the readout is a table:

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

Continuous form (MuJoCo; GAILContinuousConfig, AIRLContinuousConfig): the same loop, imitation's
benchmark set-up (scripts/train_adversarial.py with the tuned configs
scripts/config/tuned_hps/{gail,airl}_seals_{hopper,half_cheetah,walker,ant}_best_hp_eval.json):

    demonstrations  the last demo_batches observed batches as Transitions; done = True where an
                    episode ends: at a termination, where the next pair starts an episode, and at
                    a batch's end (its streams end there)
    simulator       n_envs = 8 seeded DummyVecEnvs of task.simulator.make_env (reward hidden; imitation's
                    RewardVecEnvWrapper replaces it with reward_train)
    generator       SB3 PPO, MlpPolicy whose observations pass a RunningNorm (imitation's
                    NormalizeFeaturesExtractor); rollout_steps = imitation's rl.batch_size per round
    GAIL net        BasicRewardNet(s, a), hidden (32, 32) ReLU, RunningNorm on its inputs
    AIRL net        BasicShapedRewardNet: g(s, a) hidden (32,), h(s) hidden (32, 32), RunningNorm on
                    the inputs of both, shaping discount = the task's gamma (imitation's default 0.99
                    = the tasks' gamma); the potential of s' is 0 where done
    output norm     both wrapped in NormalizedRewardNet(RunningNorm), as imitation's reward ingredient
                    does. AIRL: the generator is rewarded with the normalised f (running statistics of
                    its rollouts). GAIL: imitation 1.0.1 computes softplus(L) from the wrapped net's raw
                    forward, so the output normalisation is built but never applied (kept as
                    imitation runs it). Also as imitation runs it: AIRL's discriminator evaluates
                    log pi with the policy in training mode, which updates the policy's RunningNorm

Defaults (the `paper` profile) are imitation's tuned seals/Hopper-v1 values (GAIL's and AIRL's
differ), TUNED holds those of HalfCheetah, Walker2d and Ant (the suite sets them per task): 1e7 generator
steps, 8 environments, and per method the PPO rollout, minibatch, epochs, learning rate, entropy
and value coefficients, gamma, GAE lambda, clip range, gradient clip and policy size (Hopper
64-64 ReLU; HalfCheetah and Ant imitation's FeedForward32Policy, 32-32 tanh), the discriminator's
demonstrator batch, generator replay buffer and updates per round. The discriminator's Adam keeps
imitation's default lr 1e-3 (the tuned files do not set it). Choices that are ours:
* AIRL's reward reads (s, a) as imitation's BasicShapedRewardNet does by default (the benchmark's
  setting); reward_inputs = "state_only" is the AIRL paper's disentangled form.
* allow_variable_horizon: the learner protocol's v4 tasks terminate (seals tasks never do, so
  nothing changes there); imitation refuses variable horizons unless told.
* A demonstrator batch larger than the demonstrations (HalfCheetah GAIL's 8192, Ant AIRL's 8192
  against 2048 observed pairs) is capped at their number, as in the tabular form; the generator
  batch of each discriminator step is as large.
* The demonstrations are shuffled by our own generator (DemonstrationBatches), not torch's global one.

What the observer gets: reward_test, in the units of its raw output (PPO normalises advantages,
so the scale is immaterial; the sign is not on tasks that terminate). GAIL: softplus(L(s, a)) =
-log(1 - D), imitation's reward_test and the reward its generator was trained on; it is positive,
so the observer keeps GAIL's survival bonus on terminating tasks (the raw logit would be negative
wherever D < 1/2 and would reward ending an episode there). AIRL: g(s, a), the base of the shaped
net, without the output normalisation (imitation's reward_test). The terminal reward is 0
(neutral). The generator's policy is handed back as FitResult.policy and scored by the pipeline.
Budgets: quick keeps every tuned setting and changes total_timesteps only; smoke also shrinks the
rollout (a test's seconds).

The imitation/SB3 machinery (TabularVecEnv, the generator, training rounds, readouts): methods/adversarial_imitation.py.
"""

from __future__ import annotations

import tempfile
import warnings
from abc import abstractmethod
from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset, concatenate
from envs.seeding import seeded_global_rngs
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo

if TYPE_CHECKING:
    from imitation.algorithms.adversarial.common import AdversarialTrainer
    from imitation.data.types import Transitions
    from imitation.rewards.reward_nets import RewardNet
    from stable_baselines3.common.vec_env import VecEnv

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


# imitation's tuned benchmark values (src/imitation/scripts/config/tuned_hps/{method}_seals_{task}_best_hp_eval.json),
# as this module's config fields: rollout_steps is the tuned rl.batch_size (steps per round, all environments),
# batch_size the PPO minibatch (rl_kwargs.batch_size). Policies: Hopper MlpPolicy 64-64 ReLU, HalfCheetah and
# Ant FeedForward32Policy (32-32, SB3's default tanh); each behind imitation's RunningNorm features extractor.
TUNED: dict[str, dict[str, dict[str, Any]]] = {
    "gail": {
        "hopper": {"demo_batch_size": 128, "gen_replay_buffer_capacity": 4096, "n_disc_updates_per_round": 8,
                   "rollout_steps": 4096, "batch_size": 512, "n_epochs": 20, "learning_rate": 4.3984856156897565e-05,
                   "ent_coef": 0.001255299425412744, "vf_coef": 0.20315938606555833, "generator_gamma": 0.995,
                   "gae_lambda": 0.98, "clip_range": 0.1, "max_grad_norm": 0.9, "policy_hidden": 64,
                   "policy_activation": "relu"},
        "halfcheetah": {"demo_batch_size": 8192, "gen_replay_buffer_capacity": 512, "n_disc_updates_per_round": 8,
                        "rollout_steps": 4096, "batch_size": 64, "n_epochs": 5,
                        "learning_rate": 0.00026250519057717037, "ent_coef": 3.992371122209408e-06,
                        "vf_coef": 0.11483689492120866, "generator_gamma": 0.95, "gae_lambda": 0.95,
                        "clip_range": 0.1, "max_grad_norm": 0.8, "policy_hidden": 32, "policy_activation": "tanh"},
        "walker2d": {"demo_batch_size": 512, "gen_replay_buffer_capacity": 16384, "n_disc_updates_per_round": 16,
                     "rollout_steps": 16384, "batch_size": 128, "n_epochs": 20, "learning_rate": 1.943992487657563e-05,
                     "ent_coef": 0.0007566389899529574, "vf_coef": 0.6167177795726859, "generator_gamma": 0.98,
                     "gae_lambda": 0.92, "clip_range": 0.4, "max_grad_norm": 0.6, "policy_hidden": 64,
                     "policy_activation": "relu"},
        "ant": {"demo_batch_size": 32, "gen_replay_buffer_capacity": 16384, "n_disc_updates_per_round": 8,
                "rollout_steps": 16384, "batch_size": 16, "n_epochs": 10, "learning_rate": 2.428297806883194e-05,
                "ent_coef": 0.008871887607426377, "vf_coef": 0.4351450387648799, "generator_gamma": 0.995,
                "gae_lambda": 0.8, "clip_range": 0.3, "max_grad_norm": 0.9, "policy_hidden": 32,
                "policy_activation": "tanh"},
    },
    "airl": {
        "hopper": {"demo_batch_size": 2048, "gen_replay_buffer_capacity": 8192, "n_disc_updates_per_round": 16,
                   "rollout_steps": 8192, "batch_size": 512, "n_epochs": 20, "learning_rate": 0.0005807211840258373,
                   "ent_coef": 0.009709494745755033, "vf_coef": 0.20315938606555833, "generator_gamma": 0.995,
                   "gae_lambda": 0.98, "clip_range": 0.1, "max_grad_norm": 0.9, "policy_hidden": 64,
                   "policy_activation": "relu"},
        "halfcheetah": {"demo_batch_size": 2048, "gen_replay_buffer_capacity": 512, "n_disc_updates_per_round": 16,
                        "rollout_steps": 8192, "batch_size": 64, "n_epochs": 5,
                        "learning_rate": 0.00047248619386801587, "ent_coef": 0.0005544771755195421,
                        "vf_coef": 0.11483689492120866, "generator_gamma": 0.95, "gae_lambda": 0.95,
                        "clip_range": 0.1, "max_grad_norm": 0.8, "policy_hidden": 32, "policy_activation": "tanh"},
        "walker2d": {"demo_batch_size": 512, "gen_replay_buffer_capacity": 16384, "n_disc_updates_per_round": 16,
                     "rollout_steps": 16384, "batch_size": 128, "n_epochs": 20, "learning_rate": 3.052170958603811e-05,
                     "ent_coef": 0.002003867232707145, "vf_coef": 0.6167177795726859, "generator_gamma": 0.98,
                     "gae_lambda": 0.92, "clip_range": 0.4, "max_grad_norm": 0.6, "policy_hidden": 64,
                     "policy_activation": "relu"},
        "ant": {"demo_batch_size": 8192, "gen_replay_buffer_capacity": 8192, "n_disc_updates_per_round": 16,
                "rollout_steps": 8192, "batch_size": 16, "n_epochs": 10, "learning_rate": 3.249429831179079e-05,
                "ent_coef": 3.27750078482474e-06, "vf_coef": 0.4351450387648799, "generator_gamma": 0.995,
                "gae_lambda": 0.8, "clip_range": 0.3, "max_grad_norm": 0.9, "policy_hidden": 32,
                "policy_activation": "tanh"},
    },
}
_GAIL, _AIRL = TUNED["gail"]["hopper"], TUNED["airl"]["hopper"]
# quick: 98,304 generator steps, a multiple of every tuned rollout (24 rounds of Hopper GAIL's 4096, 12 of AIRL's
# 8192, 6 of Ant GAIL's 16384); measured on Hopper's quick learner batches, one core: GAIL ~0.8 ms, AIRL ~0.6 ms a step;
# smoke: two rounds of 512 steps (the one profile that also shrinks the rollout: a test's seconds)
CONTINUOUS_PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {"total_timesteps": 1024, "rollout_steps": 512},
    "quick": {"total_timesteps": 98_304},
}


@dataclass(frozen=True)
class AdversarialContinuousConfig:
    """The MuJoCo form's settings, imitation's benchmark (module docstring); defaults: GAIL seals/Hopper."""

    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    total_timesteps: int = bounded(10_000_000, ge=1)  # generator environment steps (imitation's benchmark: 1e7)
    n_envs: int = bounded(8, ge=1)  # imitation's environment ingredient: num_vec = 8
    # PPO: one round = rollout_steps environment steps (n_envs x rollout_steps / n_envs), then one PPO update
    rollout_steps: int = bounded(_GAIL["rollout_steps"], ge=2)
    batch_size: int = bounded(_GAIL["batch_size"], ge=2)  # PPO minibatch (capped at rollout_steps)
    n_epochs: int = bounded(_GAIL["n_epochs"], ge=1)
    learning_rate: float = bounded(_GAIL["learning_rate"], gt=0.0)
    ent_coef: float = bounded(_GAIL["ent_coef"], ge=0.0)
    vf_coef: float = bounded(_GAIL["vf_coef"], ge=0.0)
    generator_gamma: float = bounded(_GAIL["generator_gamma"], gt=0.0, le=1.0)  # PPO's discount (tuned, not the task's)
    gae_lambda: float = bounded(_GAIL["gae_lambda"], ge=0.0, le=1.0)
    clip_range: float = bounded(_GAIL["clip_range"], gt=0.0)
    max_grad_norm: float = bounded(_GAIL["max_grad_norm"], gt=0.0)
    policy_hidden: int = bounded(_GAIL["policy_hidden"], ge=1)  # two hidden layers each for actor and critic
    policy_activation: str = one_of(_GAIL["policy_activation"], "relu", "tanh")
    # discriminator: demonstrator (and as many generator) samples per step, capped at the demonstrations' number
    demo_batch_size: int = bounded(_GAIL["demo_batch_size"], ge=1)
    gen_replay_buffer_capacity: int = bounded(_GAIL["gen_replay_buffer_capacity"], ge=1)
    n_disc_updates_per_round: int = bounded(_GAIL["n_disc_updates_per_round"], ge=1)
    disc_learning_rate: float = bounded(1e-3, gt=0.0)  # Adam; imitation's default (the tuned files keep it)

    def __post_init__(self) -> None:
        check_config(self, "method")
        if self.rollout_steps % self.n_envs:
            raise ValueError(f"method.rollout_steps = {self.rollout_steps} is not a multiple of method.n_envs = "
                             f"{self.n_envs} (valid: rollout_steps = n_envs x PPO's n_steps)")
        if self.rollout_steps // self.n_envs < 2:
            raise ValueError(f"method.rollout_steps = {self.rollout_steps}: at least 2 steps per environment "
                             f"(valid: rollout_steps >= 2 x n_envs = {2 * self.n_envs})")
        if self.total_timesteps < self.rollout_steps:
            raise ValueError(f"method.total_timesteps = {self.total_timesteps} is less than one round "
                             f"(valid: total_timesteps >= rollout_steps = {self.rollout_steps})")


@dataclass(frozen=True)
class GAILContinuousConfig(AdversarialContinuousConfig):
    """GAIL on MuJoCo: imitation's tuned seals/Hopper-v1 values (gail_seals_hopper_best_hp_eval.json)."""

    name: ClassVar[str] = "gail"
    profiles: ClassVar[dict[str, dict[str, Any]]] = CONTINUOUS_PROFILES


@dataclass(frozen=True)
class AIRLContinuousConfig(AdversarialContinuousConfig):
    """AIRL on MuJoCo: imitation's tuned seals/Hopper-v1 values (airl_seals_hopper_best_hp_eval.json)."""

    name: ClassVar[str] = "airl"
    profiles: ClassVar[dict[str, dict[str, Any]]] = CONTINUOUS_PROFILES
    rollout_steps: int = bounded(_AIRL["rollout_steps"], ge=2)
    batch_size: int = bounded(_AIRL["batch_size"], ge=2)
    n_epochs: int = bounded(_AIRL["n_epochs"], ge=1)
    learning_rate: float = bounded(_AIRL["learning_rate"], gt=0.0)
    ent_coef: float = bounded(_AIRL["ent_coef"], ge=0.0)
    vf_coef: float = bounded(_AIRL["vf_coef"], ge=0.0)
    generator_gamma: float = bounded(_AIRL["generator_gamma"], gt=0.0, le=1.0)
    gae_lambda: float = bounded(_AIRL["gae_lambda"], ge=0.0, le=1.0)
    clip_range: float = bounded(_AIRL["clip_range"], gt=0.0)
    max_grad_norm: float = bounded(_AIRL["max_grad_norm"], gt=0.0)
    policy_hidden: int = bounded(_AIRL["policy_hidden"], ge=1)
    policy_activation: str = one_of(_AIRL["policy_activation"], "relu", "tanh")
    demo_batch_size: int = bounded(_AIRL["demo_batch_size"], ge=1)
    gen_replay_buffer_capacity: int = bounded(_AIRL["gen_replay_buffer_capacity"], ge=1)
    n_disc_updates_per_round: int = bounded(_AIRL["n_disc_updates_per_round"], ge=1)
    # g reads (s, a), imitation's BasicShapedRewardNet default and benchmark; state_only: the AIRL paper's
    reward_inputs: str = one_of("state_action", "state_action", "state_only")


def demonstrations(data: ObservationDataset, m: int) -> Transitions:
    """The last m batches as imitation Transitions; the stream never terminates, so dones are False."""
    from imitation.data.types import Transitions
    batches = data.last(m)
    obs = np.concatenate([b.observations for b in batches]).astype(np.int64)
    return Transitions(
        obs=obs,
        acts=np.concatenate([b.actions for b in batches]).astype(np.int64),
        next_obs=np.concatenate([b.next_observations for b in batches]).astype(np.int64),
        dones=np.zeros(len(obs), dtype=bool),
        infos=np.array([{}] * len(obs)),
    )


def continuous_demonstrations(data: ObservationDataset, m: int) -> Transitions:
    """The last m batches as imitation Transitions of float32 rows. done marks each episode's last
    pair: a termination, a pair followed by an episode start (a time limit, or the end of one
    environment's stream in a learner batch), and the last pair of a batch."""
    from imitation.data.types import Transitions
    batch = concatenate(data.last(m))
    ends = np.append(batch.episode_starts[1:], True) | batch.terminals
    return Transitions(
        obs=np.array(batch.observations, dtype=np.float32),  # copies: torch wants writable arrays
        acts=np.array(batch.actions, dtype=np.float32),
        next_obs=np.array(batch.next_observations, dtype=np.float32),
        dones=ends.astype(bool),
        infos=np.array([{}] * len(batch), dtype=object),
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


class AdversarialIRL(IRLMethod):
    """Shared code path of GAIL and AIRL; subclasses choose the discriminator."""

    uses: ClassVar[str] = "demonstrations"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    needs_simulator: ClassVar[bool] = True
    Config: ClassVar[type] = AdversarialConfig
    profiles: ClassVar[dict[str, dict]] = PROFILES

    @abstractmethod
    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        """The discriminator's reward net (tabular form)."""

    @abstractmethod
    def make_continuous_reward_net(self, venv: VecEnv, task: TaskInfo, cfg: AdversarialContinuousConfig) -> RewardNet:
        """The discriminator's reward net (MuJoCo form), before output normalisation."""

    @abstractmethod
    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        """imitation's trainer of this method."""

    @abstractmethod
    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        """The net whose (S, A) output is the recovered reward (in nats)."""

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        if task.track == "tabular":
            return self.fit_tabular(cfg, data, task, seed)
        return self.fit_continuous(cfg, data, task, seed)

    def fit_tabular(self, cfg: AdversarialConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> FitResult:
        from imitation.util import logger as imitation_logger
        from stable_baselines3 import PPO

        from methods.adversarial_imitation import policy_table, reward_table, simulator, train_rounds

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
            n_rounds, stats = train_rounds(trainer, cfg.total_timesteps, cfg.n_disc_updates_per_round)
            nats = reward_table(self.readout_net(trainer), n_s, n_a)
            policy = policy_table(generator, n_s)
            venv.close()
        scale = task.alpha if cfg.reward_scale == "alpha" else 1.0
        return FitResult(RecoveredReward(table=scale * nats), policy=policy, diagnostics={
            "rounds": int(n_rounds), "generator_timesteps": int(n_rounds * trainer.gen_train_timesteps),
            "disc_loss": float(stats["disc_loss"]), "disc_acc": float(stats["disc_acc"]),
            "reward_scale": float(scale)})

    def fit_continuous(self, cfg: AdversarialContinuousConfig, data: ObservationDataset, task: TaskInfo,
                       seed: int) -> FitResult:
        import torch
        from imitation.rewards.reward_nets import NormalizedRewardNet
        from imitation.util import logger as imitation_logger
        from imitation.util import networks

        from envs.mujoco.ppo import torch_threads, vec_env
        from methods.adversarial_imitation import TestReward, generator, train_rounds
        from methods.nets import NetReward

        demos = continuous_demonstrations(data, cfg.demo_batches)
        rng = np.random.default_rng(seed)
        env_seed, torch_seed = (int(x) for x in rng.integers(0, 2**31 - 1, size=2))
        demo_batch_size = min(cfg.demo_batch_size, len(demos))
        with seeded_global_rngs(torch_seed), torch_threads(1), tempfile.TemporaryDirectory() as log_dir:
            venv = vec_env(task.simulator.make_env, cfg.n_envs, env_seed)
            reward_net = NormalizedRewardNet(self.make_continuous_reward_net(venv, task, cfg), networks.RunningNorm)
            model = generator(venv, cfg, torch_seed)
            trainer = self.make_trainer(
                demonstrations=DemonstrationBatches(demos, demo_batch_size, rng), demo_batch_size=demo_batch_size,
                venv=venv, gen_algo=model, reward_net=reward_net,
                n_disc_updates_per_round=cfg.n_disc_updates_per_round,
                disc_opt_kwargs={"lr": cfg.disc_learning_rate},
                gen_replay_buffer_capacity=cfg.gen_replay_buffer_capacity,
                allow_variable_horizon=True,  # the v4 tasks terminate; seals tasks keep a fixed horizon anyway
                custom_logger=imitation_logger.configure(log_dir, format_strs=[]),
                log_dir=log_dir)
            n_rounds, stats = train_rounds(trainer, cfg.total_timesteps, cfg.n_disc_updates_per_round)
            reward = TestReward(trainer.reward_test)
            with torch.no_grad():  # the recovered reward on the demonstrations, for diagnosis
                on_demos = reward(*(torch.tensor(x) for x in (demos.obs, demos.acts, demos.next_obs)))
            venv.close()
        model.policy.set_training_mode(False)  # its RunningNorm frozen (SB3's predict does so too)
        return FitResult(RecoveredReward(function=NetReward(reward)), policy=model.policy, diagnostics={
            "rounds": int(n_rounds), "generator_timesteps": int(n_rounds * trainer.gen_train_timesteps),
            "demonstrations": len(demos), "demo_batch_size": int(demo_batch_size),
            "disc_loss": float(stats["disc_loss"]), "disc_acc": float(stats["disc_acc"]),
            "disc_acc_expert": float(stats["disc_acc_expert"]), "disc_acc_gen": float(stats["disc_acc_gen"]),
            "reward_demo_mean": float(on_demos.mean()), "reward_demo_std": float(on_demos.std())})


class GAIL(AdversarialIRL):
    """Generative adversarial imitation learning (Ho & Ermon 2016): a state-action discriminator."""

    name: ClassVar[str] = "gail"
    configs: ClassVar[dict[str, type]] = {"mujoco": GAILContinuousConfig}

    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        from imitation.rewards.reward_nets import BasicRewardNet
        return BasicRewardNet(venv.observation_space, venv.action_space, use_state=True, use_action=True,
                              hid_sizes=(self.config.hidden,), normalize_input_layer=None)

    def make_continuous_reward_net(self, venv: VecEnv, task: TaskInfo, cfg: AdversarialContinuousConfig) -> RewardNet:
        from imitation.rewards.reward_nets import BasicRewardNet
        from imitation.util import networks
        return BasicRewardNet(venv.observation_space, venv.action_space, use_state=True, use_action=True,
                              hid_sizes=(32, 32), normalize_input_layer=networks.RunningNorm)

    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        from imitation.algorithms.adversarial.gail import GAIL as ImitationGAIL
        return ImitationGAIL(**kwargs)

    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        return trainer._reward_net  # the logit L(s, a); reward_train is softplus(L)


class AIRL(AdversarialIRL):
    """Adversarial IRL (Fu, Luo & Levine 2018): f = g + gamma h(s') - h(s), reward g."""

    name: ClassVar[str] = "airl"
    configs: ClassVar[dict[str, type]] = {"mujoco": AIRLContinuousConfig}

    def make_reward_net(self, venv: VecEnv, task: TaskInfo) -> RewardNet:
        from imitation.rewards.reward_nets import BasicShapedRewardNet
        return BasicShapedRewardNet(venv.observation_space, venv.action_space, use_state=True, use_action=False,
                                    reward_hid_sizes=(self.config.hidden,),
                                    potential_hid_sizes=(self.config.hidden,),
                                    discount_factor=task.gamma, normalize_input_layer=None)

    def make_continuous_reward_net(self, venv: VecEnv, task: TaskInfo, cfg: AdversarialContinuousConfig) -> RewardNet:
        from imitation.rewards.reward_nets import BasicShapedRewardNet
        from imitation.util import networks
        return BasicShapedRewardNet(venv.observation_space, venv.action_space, use_state=True,
                                    use_action=cfg.reward_inputs == "state_action", reward_hid_sizes=(32,),
                                    potential_hid_sizes=(32, 32), discount_factor=task.gamma,
                                    normalize_input_layer=networks.RunningNorm)

    def make_trainer(self, **kwargs) -> AdversarialTrainer:
        from imitation.algorithms.adversarial.airl import AIRL as ImitationAIRL
        return ImitationAIRL(**kwargs)

    def readout_net(self, trainer: AdversarialTrainer) -> RewardNet:
        return trainer.reward_test  # the base g of the shaped net
