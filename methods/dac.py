"""Discriminator-Actor-Critic (Kostrikov, Agrawal, Dwibedi, Levine, Tompson; ICLR 2019, "Discriminator-
Actor-Critic: Addressing Sample Inefficiency and Reward Bias in Adversarial Imitation Learning"):
a tabular form (gridworlds) and the paper's continuous form (MuJoCo, further below).

DAC is adversarial imitation with an *off-policy* generator: every transition the generator ever
collected stays in a replay buffer, the discriminator D tells the demonstrations (label 1) from
replay samples (label 0), and the generator learns from the same replay buffer with the reward
r(s, a) = logit D(s, a) = ln D - ln(1 - D) (the authors' gail_loss='airl' reward). Episodes that end
by a time limit are not terminal (the value is bootstrapped); episodes that end in a genuine
terminal state continue into an absorbing state that the discriminator can reward or penalise
(the paper's fix for the survival/termination reward bias). The tabular algorithm box, as run here:

    replay <- {};  Q(s, a) <- 0 on the (S + 1) x A table (state S is the absorbing state)
    for round in 1 .. total_steps / (n_envs * rollout_len):
        act n_envs simulated streams for rollout_len steps with pi(a|s) = softmax(Q(s, .) / temp),
            store (s, a, s') in replay; a terminal s' becomes (s, a, absorbing) plus
            (absorbing, ., absorbing); a time limit only restarts the stream (not terminal)
        disc_updates x: Adam step on  BCE(D(expert batch), 1) + BCE(D(replay batch), 0)
                                      + 10 E_x~[(|grad_x logit D(x~)| - 1)^2],
                         x~ = eps x_replay + (1 - eps) x_expert, eps ~ U(0, 1)   (WGAN-GP, authors' gail.py)
        r(s, a) <- logit D(s, a) on every (s, a) (a table: the state-action space is finite)
        gen_updates x: soft Q-learning step on a replay minibatch,
                        Q(s, a) += lr * mean_batch[r(s, a) + gamma V(s') - Q(s, a)],
                        V(s) = temp ln sum_a exp(Q(s, a) / temp)
    reward = scale * logit D(s, a) on every non-absorbing (s, a);  policy = softmax(Q / temp)

Discrete generator. The paper's generator is TD3 (continuous actions). The discrete counterpart
used here is tabular *soft Q-learning* (an off-policy, replay-trained learner whose greedy-in-Q
Boltzmann policy needs no separate actor; a discrete soft actor-critic would add an actor that, on a
table, converges to the same softmax(Q / temp)). Its entropy weight temp is the task's alpha and it
is trained on the same reward table the observer receives, so the generator's policy is (up to
unconverged Q) the observer's policy of the final reward.

Discriminator input. One-hot(s) ++ one-hot(a) ++ [absorbing indicator]; the absorbing state is all
zeros with indicator 1 (its action part is also zero: the absorbing state's reward does not depend
on the action). The observed gridworld streams never terminate (the reset cells teleport to the
start as part of the dynamics and simulator episodes are only truncated), so the absorbing
machinery is implemented (absorbing_transitions, encode) but inactive on these tasks; the
authors' expert re-weighting for trajectories subsampled every 20 steps does not apply (our
demonstrations are complete streams).

Reward scale and temperature. The generator's reward is the raw logit (as DAC gives it to TD3) and
its entropy weight is the task's alpha; the observer's reward is scale * logit with scale 1 by
default (reward_scale="none"), so the generator's converged policy *is* the observer's policy of the
final reward. Ideally the logit estimates ln(rho_E(s, a) / rho_replay(s, a)), a log occupancy ratio
in nats (entropy weight 1), which argues for scale = alpha (reward_scale="alpha", as for GAIL/AIRL in
methods/adversarial.py). But the gradient penalty (|grad_x logit| ~ 1 on one-hot inputs that are at
most 2 apart) makes the logit a Lipschitz critic confined to about +-1, not a log ratio; scaling it
down by alpha = 0.3 leaves it too weak against the entropy. Measured on the LfL gridworld (1000
expert pairs, smoke budget, seed 0; observer regret of c * logit): c = 0.1: 20.0, 0.3 (alpha): 8.0,
1: 5.5, 3: 7.9, 10: 9.4; a scale fitted by maximising the demonstrations' likelihood under the
observer's policy chose c = 0.25 (regret 9.9) and was dropped. With scale 1 the observer's regret
is 3.1-6.2 over seeds 0-4 at the smoke budget: the final logit is a poor reward on its own (GAIL's
known weakness: it is a snapshot of a moving target, and the replay mixture it is measured
against is not the expert's competitor at any one time); the generator imitates better (regret
2.6-9.4 at smoke; 1.8-2.6 at 200k steps, where the observer stays at 5.8-8.0, seeds 0-2).

Defaults. From the authors' code (dac/gail.py, ddpg_td3.py): gradient-penalty weight 10, tanh
hidden layers with orthogonal init, BCE with the expert labelled 1 (modified_discriminator_loss),
minibatch 100, an unbounded replay buffer, about one generator update per environment step.
Adapted to a 25-state gridworld: discriminator Adam lr 1e-2 (the authors' 1e-3 leaves the
generator at regret 12.7 instead of 2.6 at the smoke budget, seed 0), one hidden layer of 64 units
(256-256 is far more than 30 one-hot inputs need), 8 parallel streams truncated at 100 steps, a
tabular soft-Q step size of 0.2, 200k environment steps (the paper: 1M on MuJoCo) with 32
discriminator and 128 generator updates per 128-step round.

Continuous form (MuJoCo; DACContinuousConfig, train_dac). The generator is stable-baselines3's TD3
(the library's update, unchanged); the discriminator, replay handling and absorbing states are ours,
following the authors' code (google-research/dac). Observations carry one extra indicator
dimension, 0 on every real state; s_abs = zeros with indicator 1.

    E <- the last demo_batches batches; absorbing_pairs: every terminal step (Batch.terminals, not a
         time limit or a stream cut) (s, a, s') -> (s, a, s_abs) + (s_abs, 0, s_abs)
    E <- subsample_episodes: per episode the i-th pair where (i + offset) % rate == 0, offset ~ U{0..rate-1},
         rate = time limit // trajectory_size (1000-step tasks: 20); absorbing rows always kept, with
         BCE weight 1 / rate (the authors' expert_weight)
    D <- 256-256 tanh on [s, indicator, a] (a in TD3's [-1, 1] units), orthogonal init;  TD3 <- 400-300 ReLU
    for t = 1 .. total_steps:
        a = uniform random while t <= random_steps or the actor has not been updated, else
            clip(mu(s) + N(0, 0.1), -1, 1);  step the simulator (its reward is hidden, and dropped)
        store (s, a, s') not done; a termination as (s, a, s_abs) + (s_abs, 0, s_abs), both not done;
            a time limit as (s, a, s') not done (TD3 bootstraps through it)
        if t > learning_starts:
            one Adam step on D:  BCE_w(D(E batch), 1) + BCE(D(replay batch), 0)
                                 + 10 E[(|grad_x logit D(x~)| - 1)^2],  x~ = eps x_replay + (1 - eps) x_E
            one TD3 step (SB3 TD3.train) on a replay batch whose rewards are r = logit D(s, a) now
                (twin critics, target noise 0.2 clipped 0.5, actor and targets every 2nd step; the
                actor's lr is 0 for the first actor_delay critic steps, then 1e-3 halved every 1e5
                environment steps, its gradient clipped to norm 40; Q(s_abs, a) = Q(s_abs, 0))
    reward = logit D([s, 0], a);  terminal_reward = gamma r_abs / (1 - gamma), r_abs = logit D(s_abs, 0);
    policy = the actor's deterministic action at [s, 0], clipped to the action bounds

What the observer gets (imitation's train/test views): the generator trains on logit D of the
indicator-augmented pair, absorbing state included (reward_train); the observer gets the same
logit at the real state (indicator 0), no normalization or shaping, plus the absorbing state as
RecoveredReward.terminal_reward (reward_test = reward_train off s_abs). In DAC's MDP a termination
leads to s_abs, which pays r_abs every step forever, so the value after a terminal step is
gamma r_abs / (1 - gamma): the lump the observer adds on a transition that ends by termination. The
observer's PPO treats that step as terminal and discounts with the task's gamma (the same as here),
so its returns are DAC's exactly; time-limit ends get nothing, as in DAC. The term is large
(99 r_abs at gamma 0.99) and says what DAC learned about ending an episode: when the demonstrations
never terminate and the generator does, r_abs is pushed down and falling costs the observer; on the
fixed-horizon (seals) tasks no episode terminates, r_abs is never trained, and the term is never paid.

Choices that are ours, with why. (1) One discriminator and one TD3 update after every environment
step (train_freq 1); the authors collect one whole episode, then run as many discriminator steps
and then as many TD3 steps as it had steps: the same counts, and an exact step budget on
fixed-horizon tasks, where one episode is 1000 steps. (2) The authors skip absorbing rows in the
actor's loss; here the critic ignores the action in s_abs, so those rows give the actor no gradient
and only shrink the loss's mean by the batch's absorbing fraction (Adam is nearly invariant to that
scale). (3) SB3's default layer initialisation for TD3 (the authors: orthogonal) and a replay buffer
of 2 x total_steps (the authors: unbounded; room for one absorbing row per step). (4) Subsampling
under the learner protocol too: DAC cannot tell which protocol produced its demonstrations and
should not branch on it; the authors' loss weighs absorbing rows for the subsampled data; the
learner's last batch (2048 pairs: 8 streams x 256 steps) keeps ~100 pairs plus its absorbing rows,
the size of the paper's data (4 x 50). Stream cuts start a new episode (a new offset) and are never
terminal. A suite cell can keep every pair with trajectory_size >= the time limit. (5) Raw
observations into D, as the authors (no standardization). (6) The expert minibatch is drawn without
replacement (the authors), with replacement when E has fewer rows than a batch (smoke data).

Continuous defaults (the authors' flags and constructors): 1e6 steps, batch 100, random actions for
1e3 steps (1e4 on HalfCheetah and Ant: a suite's per-task setting), updates from 1e3 stored steps,
actor updates after 1e3 critic steps, exploration noise 0.1, actor and critic lr 1e-3, tau 0.005,
target noise 0.2 clipped 0.5, policy delay 2, actor gradient norm 40, gamma = the task's (0.99),
discriminator 256-256 tanh with Adam lr 1e-3 (TF's default) and penalty 10, trajectory_size 50,
absorbing states on. Profiles change budgets only: smoke 300 steps (100 random, updates and the
actor from the 100th), quick 5,000 steps (4,000 updates; 90-110 s a Hopper fit on one shared core).
A discriminator step (256-256 on 200 rows plus the penalty's double backward on 100) costs about
half a 400-300 TD3 step, so DAC runs at ~0.6x plain SB3 TD3's updates per second (bench/dac_speed.py).

The continuous form's torch, gymnasium and SB3 subclasses (TD3 generator, replay buffer...) live in methods/dac_td3.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import Batch, ObservationDataset, concatenate
from envs.seeding import seeded_global_rngs
from methods.base import FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo

if TYPE_CHECKING:
    import torch
    from torch import nn

    from methods.dac_td3 import DiscriminatorActorCritic

Array = np.ndarray


@dataclass(frozen=True)
class DACConfig:
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    total_steps: int = bounded(200_000, ge=1)  # generator environment steps (paper: 1M on MuJoCo)
    n_envs: int = bounded(8, ge=1)  # parallel simulated streams
    rollout_len: int = bounded(16, ge=1)  # steps per stream per round: a round adds n_envs * rollout_len transitions
    max_episode_steps: int = bounded(100, ge=1)  # time limit of a simulated episode (truncation, not termination)
    batch_size: int = bounded(100, ge=1)  # discriminator and generator minibatch (authors: 100)
    disc_updates: int = bounded(32, ge=0)  # discriminator Adam steps per round
    gen_updates: int = bounded(128, ge=0)  # soft Q-learning minibatch steps per round (about one per env step, as DAC)
    # Adam (authors: 1e-3, which leaves the generator near uniform at smoke budgets)
    disc_lr: float = bounded(1e-2, gt=0.0)
    grad_penalty: float = bounded(10.0, ge=0.0)  # authors' lambd
    hidden: int = bounded(64, ge=1)  # one tanh hidden layer (authors: 256-256 tanh)
    q_lr: float = bounded(0.2, gt=0.0, le=1.0)  # tabular soft-Q step size
    # observer reward = c * logit: none c = 1 (the generator's), alpha c = alpha
    reward_scale: str = one_of("none", "none", "alpha")

    def __post_init__(self) -> None:
        check_config(self, "method")
        rollout = self.n_envs * self.rollout_len
        if self.total_steps < rollout:
            raise ValueError(f"method.total_steps = {self.total_steps} is less than one round "
                             f"(valid: total_steps >= n_envs * rollout_len = {rollout})")


# --- absorbing-state wrapper ---------------------------------------------------------------------

def absorbing_transitions(s: Array, a: Array, s_next: Array, terminal: Array, n_states: int
                          ) -> tuple[Array, Array, Array]:
    """DAC's absorbing-state wrapper on index transitions; state index n_states is the absorbing state.

    A terminal transition (s, a, s') becomes (s, a, absorbing) followed by (absorbing, a, absorbing),
    so the absorbing state's value is learned (gamma V(absorbing) instead of 0). A truncated
    transition (time limit) is not terminal and stays as it is. The absorbing state's own action is
    irrelevant (encode zeroes it); the terminal step's action is reused."""
    terminal = np.asarray(terminal, dtype=bool)
    absorbing = np.full(int(terminal.sum()), n_states, dtype=np.int64)
    s_next = np.where(terminal, n_states, s_next)
    return (np.concatenate([s, absorbing]).astype(np.int64), np.concatenate([a, a[terminal]]).astype(np.int64),
            np.concatenate([s_next, absorbing]).astype(np.int64))


def encode(s: Array, a: Array, n_states: int, n_actions: int) -> torch.Tensor:
    """(N, S + A + 1) discriminator inputs: one-hot(s) ++ one-hot(a) ++ [0] for ordinary pairs,
    zeros ++ [1] for the absorbing state (index n_states)."""
    import torch

    s, a = torch.as_tensor(s), torch.as_tensor(a)
    x = torch.zeros(len(s), n_states + n_actions + 1)
    absorbing = s == n_states
    rows = torch.nonzero(~absorbing).squeeze(1)
    x[rows, s[rows]] = 1.0
    x[rows, n_states + a[rows]] = 1.0
    x[absorbing, -1] = 1.0
    return x


# --- discriminator ---------------------------------------------------------------------------------

def make_discriminator(in_dim: int, hidden: int, generator: torch.Generator) -> nn.Module:
    from torch import nn

    net = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    for layer in (net[0], net[2]):  # authors: orthogonal init (gain 1), zero biases
        nn.init.orthogonal_(layer.weight, generator=generator)
        nn.init.zeros_(layer.bias)
    return net


def discriminator_loss(net: nn.Module, x_expert: torch.Tensor, x_policy: torch.Tensor, lambd: float,
                       generator: torch.Generator, *, expert_weights: torch.Tensor | None = None,
                       gradient: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
                       ) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE (expert 1, policy 0) + lambd * WGAN-GP penalty on interpolates of policy and expert inputs.
    expert_weights: per-row weights of the expert BCE (its mean of weight * loss, as TF's weighted
    losses); gradient: d logit / d x (default: the one-hidden-layer net's written-out input_gradient)."""
    import torch
    from torch import nn

    logit_e, logit_p = net(torch.cat([x_expert, x_policy])).squeeze(1).split([len(x_expert), len(x_policy)])
    bce = (nn.functional.binary_cross_entropy_with_logits(logit_e, torch.ones_like(logit_e), weight=expert_weights)
           + nn.functional.binary_cross_entropy_with_logits(logit_p, torch.zeros_like(logit_p)))
    eps = torch.rand(len(x_policy), 1, generator=generator)
    inter = eps * x_policy + (1 - eps) * x_expert
    penalty = (((gradient or input_gradient)(net, inter).norm(dim=1) - 1.0) ** 2).mean()
    acc = 0.5 * ((logit_e > 0).float().mean() + (logit_p < 0).float().mean())
    stats = {"disc_bce": bce.detach(), "disc_penalty": penalty.detach(), "disc_acc": acc}  # read once, at the end
    return bce + lambd * penalty, stats


def input_gradient(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d logit / d x of the one-hidden-layer tanh discriminator, written out:
    W1^T (w2 * (1 - tanh(W1 x + b1)^2)). Equal to torch.autograd.grad(..., create_graph=True) (a test
    checks) but a plain differentiable expression: one backward pass per step instead of a double
    backward, which halves the discriminator step (the bulk of DAC's time on a table)."""
    import torch

    first, last = net[0], net[2]
    hidden = torch.tanh(first(x))
    return ((1.0 - hidden ** 2) * last.weight) @ first.weight


def logit_table(net: nn.Module, n_states: int, n_actions: int) -> Array:
    """(S + 1, A) discriminator logits on every pair; the last row is the absorbing state."""
    import torch

    s = np.repeat(np.arange(n_states + 1), n_actions)
    a = np.tile(np.arange(n_actions), n_states + 1)
    with torch.no_grad():
        return net(encode(s, a, n_states, n_actions)).squeeze(1).double().numpy().reshape(n_states + 1, n_actions)


# --- generator: tabular soft Q-learning --------------------------------------------------------------

def soft_value(q: Array, temp: float) -> Array:
    m = q.max(axis=1)
    return m + temp * np.log(np.exp((q - m[:, None]) / temp).sum(axis=1))


def soft_policy(q: Array, temp: float) -> Array:
    z = np.exp((q - q.max(axis=1, keepdims=True)) / temp)
    return z / z.sum(axis=1, keepdims=True)


def soft_q_step(q: Array, reward: Array, s: Array, a: Array, s_next: Array, gamma: float, temp: float,
                lr: float) -> None:
    """In place: each visited (s, a) moves lr of the way along its minibatch-mean soft TD error."""
    td = reward[s, a] + gamma * soft_value(q, temp)[s_next] - q[s, a]
    total, count = np.zeros_like(q), np.zeros_like(q)
    np.add.at(total, (s, a), td)
    np.add.at(count, (s, a), 1.0)
    q += lr * total / np.maximum(count, 1.0)


# === continuous form (MuJoCo) =====================================================================

@dataclass(frozen=True)
class DACContinuousConfig:
    """DAC on MuJoCo tasks. Defaults: the authors' code (google-research/dac: lfd_training_worker.py
    flags, ddpg_td3.py, gail.py, common.py, run_training_worker.sh); see the module docstring."""

    name: ClassVar[str] = "dac"
    profiles: ClassVar[dict[str, dict]] = {
        "smoke": {"total_steps": 300, "random_steps": 100, "learning_starts": 100, "actor_delay": 100},
        "quick": {"total_steps": 5_000},
    }
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    total_steps: int = bounded(1_000_000, ge=1)  # generator environment steps (training_steps)
    # uniform random actions for the first steps and until the actor's first update (authors: 1e4 on
    # HalfCheetah and Ant, a suite's per-task setting)
    random_steps: int = bounded(1_000, ge=0)
    learning_starts: int = bounded(1_000, ge=0)  # environment steps before the first update (min_samples_to_start)
    actor_delay: int = bounded(1_000, ge=0)  # critic updates before the actor's first (policy_updates_delay)
    batch_size: int = bounded(100, ge=1)  # TD3 and discriminator minibatches (expert and replay alike)
    # TD3 (ddpg_td3.py, common.py): 400-300 ReLU actor and twin critics
    td3_hidden_1: int = bounded(400, ge=1)
    td3_hidden_2: int = bounded(300, ge=1)
    actor_lr: float = bounded(1e-3, gt=0.0)
    actor_lr_halving: int = bounded(100_000, ge=1)  # the actor's lr halves every this many environment steps
    actor_grad_clip: float = bounded(40.0, gt=0.0)  # global norm of the actor's gradient
    critic_lr: float = bounded(1e-3, gt=0.0)
    tau: float = bounded(0.005, gt=0.0, le=1.0)
    policy_noise: float = bounded(0.2, ge=0.0)  # target policy smoothing, N(0, 0.2) clipped to +-0.5
    noise_clip: float = bounded(0.5, ge=0.0)
    policy_delay: int = bounded(2, ge=1)  # an actor and target update every 2 critic updates
    exploration_noise: float = bounded(0.1, ge=0.0)  # N(0, 0.1) added to the actor's action
    # discriminator (gail.py): 256-256 tanh, orthogonal init, Adam at TF's default lr
    disc_hidden: int = bounded(256, ge=1)
    disc_lr: float = bounded(1e-3, gt=0.0)
    grad_penalty: float = bounded(10.0, ge=0.0)
    # expert subsampling: every (max episode steps // trajectory_size)-th pair of each episode, from a
    # random offset (1000-step tasks: every 20th); trajectory_size >= the time limit keeps every pair
    trajectory_size: int = bounded(50, ge=1)
    absorbing: str = one_of("on", "on", "off")  # "off": a termination ends the value, as plain TD3 (learn_absorbing)

    def __post_init__(self) -> None:
        check_config(self, "method")


# --- the absorbing-state wrapper ------------------------------------------------------------------

def absorbing_state(obs_dim: int) -> Array:
    """The absorbing state of observations with the indicator appended: zeros, indicator 1."""
    state = np.zeros(obs_dim + 1, dtype=np.float32)
    state[-1] = 1.0
    return state


def with_indicator(obs: Array) -> Array:
    """(N, d) -> (N, d + 1) float32: an ordinary state, indicator 0."""
    obs = np.asarray(obs, dtype=np.float32)
    return np.concatenate([obs, np.zeros((*obs.shape[:-1], 1), dtype=np.float32)], axis=-1)


def absorbing_pairs(obs: Array, actions: Array, next_obs: Array, terminals: Array
                    ) -> tuple[Array, Array, Array, Array]:
    """DAC's absorbing-state wrapper on continuous transitions (authors' lfd_envs.AbsorbingWrapper,
    ReplayBuffer.add_absorbing_states). Every observation gets the indicator 0; a transition that
    ends its episode by termination, (s, a, s'), becomes (s, a, s_abs) followed by (s_abs, 0, s_abs),
    s_abs = zeros with indicator 1; a time-limit end (terminal False) is an ordinary transition.
    Returns the (N + T, .) obs, actions, next obs and the (N + T,) absorbing-row mask, each absorbing
    row right after its terminal step."""
    terminals = np.asarray(terminals, dtype=bool)
    obs, next_obs = with_indicator(obs), with_indicator(next_obs)
    actions = np.asarray(actions, dtype=np.float32)
    s_abs = absorbing_state(obs.shape[1] - 1)
    next_obs[terminals] = s_abs
    at = np.flatnonzero(terminals) + 1
    insert = lambda x, row: np.insert(x, at, row, axis=0)  # noqa: E731
    return (insert(obs, s_abs), insert(actions, np.zeros(actions.shape[1], dtype=np.float32)), insert(next_obs, s_abs),
            insert(np.zeros(len(terminals), dtype=bool), True))


def subsample_episodes(starts: Array, absorbing: Array, rate: int, rng: np.random.Generator) -> Array:
    """(N,) keep-mask of the authors' expert subsampling (ReplayBuffer.subsample_transitions): in each
    episode, the i-th ordinary pair (i = 1, 2, ...) is kept where (i + offset) % rate == 0, offset
    drawn uniformly from 0..rate-1 per episode; absorbing rows are always kept. `starts` marks each
    episode's first row (an episode's start or a stream's, the observed stream cuts)."""
    keep = np.asarray(absorbing, dtype=bool).copy()
    i = offset = 0
    for j in range(len(keep)):
        if j == 0 or starts[j]:
            i, offset = 0, int(rng.integers(rate))
        if not keep[j]:
            i += 1
            keep[j] = (i + offset) % rate == 0
    return keep


def expert_inputs(batch: Batch, rate: int, absorbing: bool, low: Array, high: Array, rng: np.random.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The discriminator's expert inputs [s, indicator, scaled a] after the absorbing wrapper and the
    subsampling, their BCE weights (an absorbing row 1 / rate, as the authors weigh the rows that
    subsampling does not thin out), and the number of absorbing rows."""
    import torch

    terminals = batch.terminals if (absorbing and batch.terminals is not None) else np.zeros(len(batch), dtype=bool)
    obs, actions, _, is_abs = absorbing_pairs(batch.observations, batch.actions, batch.next_observations, terminals)
    starts = np.insert(np.asarray(batch.episode_starts, dtype=bool), np.flatnonzero(terminals) + 1, False)
    keep = subsample_episodes(starts, is_abs, rate, rng)
    if not (keep & ~is_abs).any():  # episodes too short to keep one pair: keep them all
        keep = np.ones_like(keep)
    scaled = np.where(is_abs[:, None], 0.0, scale_actions(actions, low, high)).astype(np.float32)
    x = torch.as_tensor(np.concatenate([obs, scaled], axis=1)[keep])
    weights = torch.as_tensor(np.where(is_abs[keep], 1.0 / rate, 1.0).astype(np.float32))
    return x, weights, int(is_abs.sum())


def scale_actions(actions: Array, low: Array, high: Array) -> Array:
    """Executed actions in [low, high] -> [-1, 1], the units SB3's TD3 stores and acts in."""
    return (2.0 * (np.asarray(actions, dtype=np.float32) - low) / (high - low) - 1.0).astype(np.float32)


# --- the discriminator -----------------------------------------------------------------------------

def make_mlp_discriminator(in_dim: int, hidden: int, generator: torch.Generator) -> nn.Module:
    """The authors' discriminator: hidden-hidden tanh, orthogonal init (gain 1), zero biases."""
    from torch import nn

    net = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                        nn.Linear(hidden, 1))
    for layer in net[::2]:
        nn.init.orthogonal_(layer.weight, generator=generator)
        nn.init.zeros_(layer.bias)
    return net


def autograd_input_gradient(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d logit / d x of any discriminator, differentiable (a double backward in the loss)."""
    import torch

    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(net(x).sum(), x, create_graph=True)[0]


class DiscriminatorTrainer:
    """One Adam step per call on the authors' loss: BCE(D(expert), 1) weighted per expert row +
    BCE(D(replay), 0) + lambda * the WGAN-GP penalty at interpolates of replay and expert inputs."""

    def __init__(self, net: nn.Module, x_expert: torch.Tensor, w_expert: torch.Tensor, cfg: DACContinuousConfig,
                 generator: torch.Generator) -> None:
        import torch

        self.net, self.x_expert, self.w_expert, self.generator = net, x_expert, w_expert, generator
        self.lambd, self.batch_size = cfg.grad_penalty, cfg.batch_size
        self.optimizer = torch.optim.Adam(net.parameters(), lr=cfg.disc_lr)
        self.stats: dict[str, torch.Tensor] = {}
        self.updates = 0

    def update(self, x_policy: torch.Tensor) -> None:
        import torch

        n = len(self.x_expert)  # the authors' expert minibatch is drawn without replacement
        rows = (torch.randperm(n, generator=self.generator)[:len(x_policy)] if n >= len(x_policy)
                else torch.randint(n, (len(x_policy),), generator=self.generator))
        loss, stats = discriminator_loss(self.net, self.x_expert[rows], x_policy, self.lambd, self.generator,
                                         expert_weights=self.w_expert[rows], gradient=autograd_input_gradient)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        decay = max(0.01, 1.0 / self.updates)  # running means of the last ~100 steps, read once at the end
        for key, value in stats.items():
            self.stats[key] = value if key not in self.stats else self.stats[key] + decay * (value - self.stats[key])


class DeterministicActor:
    """DAC's own policy for the pipeline: the TD3 actor's deterministic action at [s, 0], in the
    action space's units, clipped to its bounds. (N, obs_dim) numpy -> (N, act_dim) float32."""

    def __init__(self, actor: nn.Module, low: Array, high: Array) -> None:
        self.actor, self.low, self.high = actor.requires_grad_(False).eval(), low, high

    def __call__(self, obs: Array) -> Array:
        import torch

        with torch.no_grad():
            scaled = self.actor(torch.as_tensor(with_indicator(obs))).numpy()
        return np.clip(self.low + 0.5 * (scaled + 1.0) * (self.high - self.low), self.low, self.high).astype(np.float32)


# --- the generator: SB3's TD3 ----------------------------------------------------------------------

def subsampling_rate(task: TaskInfo, trajectory_size: int) -> int:
    """The authors' rate: the environment's time limit // trajectory_size (1 without a time limit)."""
    env = task.simulator.make_env()
    limit = getattr(env.spec, "max_episode_steps", None) if env.spec is not None else None
    env.close()
    return max(1, int(limit) // trajectory_size) if limit else 1


def make_generator(cfg: DACContinuousConfig, task: TaskInfo, discriminator: DiscriminatorTrainer, seed: int
                   ) -> DiscriminatorActorCritic:
    """SB3's TD3 with DAC's settings on one simulated environment (indicator appended)."""
    import torch
    from stable_baselines3.common.noise import NormalActionNoise
    from torch import nn

    from envs.mujoco.ppo import vec_env
    from methods.dac_td3 import (AbsorbingObservations, AbsorbingReplayBuffer, AbsorbingTD3Policy,
                                 DiscriminatorActorCritic)

    act_dim = task.action_space.shape[0]
    noise = NormalActionNoise(np.zeros(act_dim), cfg.exploration_noise * np.ones(act_dim))
    venv = vec_env(lambda: AbsorbingObservations(task.simulator.make_env()), 1, seed)
    model = DiscriminatorActorCritic(
        AbsorbingTD3Policy, venv, learning_rate=cfg.critic_lr, buffer_size=2 * cfg.total_steps + 1,
        learning_starts=cfg.learning_starts, batch_size=cfg.batch_size, tau=cfg.tau, gamma=task.gamma,
        train_freq=1, gradient_steps=1, action_noise=noise,
        replay_buffer_class=AbsorbingReplayBuffer, replay_buffer_kwargs={"handle_timeout_termination": False},
        policy_delay=cfg.policy_delay, target_policy_noise=cfg.policy_noise, target_noise_clip=cfg.noise_clip,
        policy_kwargs={"net_arch": [cfg.td3_hidden_1, cfg.td3_hidden_2], "activation_fn": nn.ReLU},
        seed=seed, device="cpu")
    model.replay_buffer.absorbing = cfg.absorbing == "on"
    model.replay_buffer.reward_fn = lambda obs, actions: discriminator.net(torch.cat([obs, actions], dim=1))
    model.configure_dac(discriminator, cfg)
    return model


def train_dac(cfg: DACContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int
              ) -> tuple[DiscriminatorActorCritic, dict[str, float]]:
    """DAC's loop (the module docstring's box): the trained generator (its replay buffer and
    discriminator attached) and what the demonstrations became."""
    import gymnasium as gym
    import torch

    from envs.mujoco.ppo import torch_threads

    if not isinstance(task.action_space, gym.spaces.Box):
        raise NotApplicable("DAC's continuous form needs a Box action space")
    low, high = (np.asarray(b, dtype=np.float32) for b in (task.action_space.low, task.action_space.high))
    rng, generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    rate = subsampling_rate(task, cfg.trajectory_size)
    x_expert, w_expert, n_abs = expert_inputs(concatenate(data.last(cfg.demo_batches)), rate, cfg.absorbing == "on",
                                              low, high, rng)
    net = make_mlp_discriminator(x_expert.shape[1], cfg.disc_hidden, generator)
    discriminator = DiscriminatorTrainer(net, x_expert, w_expert, cfg, generator)
    with seeded_global_rngs(seed), torch_threads(1):
        model = make_generator(cfg, task, discriminator, seed)
        model.learn(total_timesteps=cfg.total_steps)
        model.env.close()
    return model, {"subsampling_rate": int(rate), "expert_pairs": int(len(x_expert) - n_abs),
                   "expert_absorbing": int(n_abs)}


def fit_continuous(cfg: DACContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> FitResult:
    """train_dac, then what the observer gets: logit D at real states, the absorbing state's
    discounted value as the termination term, and the actor as DAC's own policy."""
    import torch

    from methods.dac_td3 import LogitReward
    from methods.nets import NetReward

    model, info = train_dac(cfg, data, task, seed)
    disc, buffer = model.discriminator, model.replay_buffer
    net = disc.net.requires_grad_(False)
    low, high = (np.asarray(b, dtype=np.float32) for b in (task.action_space.low, task.action_space.high))
    obs_dim, stored = task.observation_space.shape[0], buffer.size()
    with torch.no_grad():
        r_abs = float(net(torch.as_tensor(np.append(absorbing_state(obs_dim), np.zeros_like(low)))[None]))
        replay = torch.as_tensor(np.concatenate([buffer.observations[:stored, 0], buffer.actions[:stored, 0]], axis=1))
        real_replay, real_expert = replay[replay[:, obs_dim] < 0.5], disc.x_expert[disc.x_expert[:, obs_dim] < 0.5]
        logit_replay, logit_expert = (float(net(x).mean()) if len(x) else math.nan for x in (real_replay, real_expert))
    # s_abs pays r_abs every step after a termination: gamma r_abs / (1 - gamma), discounted from the terminal step
    terminal_reward = task.gamma * r_abs / (1.0 - task.gamma) if cfg.absorbing == "on" else 0.0
    diagnostics = {**{k: float(v) for k, v in disc.stats.items()}, **info,
                   "generator_steps": int(model.num_timesteps), "updates": int(model._n_updates),
                   "actor_updates": int(model.actor_updates), "replay_size": int(stored),
                   "generator_terminations": int(stored - len(real_replay)), "absorbing_logit": r_abs,
                   "terminal_reward": float(terminal_reward), "expert_logit_mean": logit_expert,
                   "replay_logit_mean": logit_replay}
    reward = RecoveredReward(function=NetReward(LogitReward(net, low, high)), terminal_reward=float(terminal_reward))
    return FitResult(reward, policy=DeterministicActor(model.actor, low, high), diagnostics=diagnostics)


class DAC(IRLMethod):
    """Discriminator-Actor-Critic (Kostrikov et al. 2019): tabular soft-Q generator on grids, SB3's
    TD3 on MuJoCo tasks."""

    name: ClassVar[str] = "dac"
    uses: ClassVar[str] = "demonstrations"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    needs_simulator: ClassVar[bool] = True
    Config: ClassVar[type] = DACConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": DACContinuousConfig}
    profiles: ClassVar[dict] = {"smoke": {"total_steps": 12_800}, "quick": {"total_steps": 25_600},
                                "paper": {"total_steps": 200_000}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        if task.track != "tabular":
            return fit_continuous(cfg, data, task, seed)
        if task.alpha <= 0:
            raise ValueError("DAC's soft-Q generator needs the task's positive alpha as its temperature")
        n_s, n_a, temp = task.n_states, task.n_actions, task.alpha
        scale = task.alpha if cfg.reward_scale == "alpha" else 1.0
        import torch

        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)

        batches = data.last(cfg.demo_batches)
        cat = lambda field: np.concatenate([getattr(b, field) for b in batches]).astype(np.int64)  # noqa: E731
        # the observed streams are continuing: no terminal transitions, hence no absorbing ones
        e_s, e_a, _ = absorbing_transitions(cat("observations"), cat("actions"), cat("next_observations"),
                                            np.zeros(sum(len(b) for b in batches), dtype=bool), n_s)
        x_expert_all = encode(e_s, e_a, n_s, n_a)
        codes = encode(np.repeat(np.arange(n_s + 1), n_a), np.tile(np.arange(n_a), n_s + 1), n_s, n_a)

        sim = task.simulator.make_streams(cfg.n_envs, cfg.max_episode_steps, rng)
        disc = make_discriminator(n_s + n_a + 1, cfg.hidden, generator)
        optimizer = torch.optim.Adam(disc.parameters(), lr=cfg.disc_lr)
        q = np.zeros((n_s + 1, n_a))
        capacity = 2 * cfg.total_steps  # room for one absorbing transition per terminal step
        replay = np.zeros((3, capacity), dtype=np.int64)
        size, stats = 0, {"disc_bce": float("nan"), "disc_penalty": float("nan"), "disc_acc": float("nan")}
        n_rounds = cfg.total_steps // (cfg.n_envs * cfg.rollout_len)
        reward = logit_table(disc, n_s, n_a)

        for _ in range(n_rounds):
            policy = soft_policy(q[:n_s], temp)
            for _ in range(cfg.rollout_len):
                s, a, s2, terminal = sim.act(policy)
                s, a, s2 = absorbing_transitions(s, a, s2, terminal, n_s)
                replay[:, size:size + len(s)] = s, a, s2
                size += len(s)
            for _ in range(cfg.disc_updates):
                idx_e = torch.randint(len(x_expert_all), (cfg.batch_size,), generator=generator)
                idx_p = rng.integers(0, size, cfg.batch_size)
                x_policy = codes[torch.from_numpy(replay[0, idx_p] * n_a + replay[1, idx_p])]  # = encode(s, a)
                loss, stats = discriminator_loss(disc, x_expert_all[idx_e], x_policy, cfg.grad_penalty, generator)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            reward = logit_table(disc, n_s, n_a)  # the generator's reward: the raw logit, as DAC gives TD3
            for _ in range(cfg.gen_updates):
                idx = rng.integers(0, size, cfg.batch_size)
                soft_q_step(q, reward, replay[0, idx], replay[1, idx], replay[2, idx], task.gamma, temp, cfg.q_lr)

        logits = reward[:n_s]
        return FitResult(RecoveredReward(table=scale * logits), policy=soft_policy(q[:n_s], temp), diagnostics={
            **{k: float(v) for k, v in stats.items()}, "rounds": int(n_rounds), "generator_steps": int(size), "reward_scale": float(scale),
            "temperature": float(temp), "absorbing_logit": float(reward[n_s, 0])})
