"""Discriminator-Actor-Critic (Kostrikov, Agrawal, Dwibedi, Levine, Tompson; ICLR 2019, "Discriminator-
Actor-Critic: Addressing Sample Inefficiency and Reward Bias in Adversarial Imitation Learning"),
discrete tabular form.

DAC is adversarial imitation with an *off-policy* generator: every transition the generator ever
collected stays in a replay buffer, the discriminator D tells the demonstrations (label 1) from
replay samples (label 0), and the generator learns from the same replay buffer with the reward
r(s, a) = logit D(s, a) = ln D - ln(1 - D) (the authors' gail_loss='airl' reward). Episodes that end
by a time limit are not terminal (the value is bootstrapped); episodes that end in a genuine
terminal state continue into an absorbing state that the discriminator can reward or penalise
(the paper's fix for the survival/termination reward bias). The algorithm box, as run here:

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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo

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
    net = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    for layer in (net[0], net[2]):  # authors: orthogonal init (gain 1), zero biases
        nn.init.orthogonal_(layer.weight, generator=generator)
        nn.init.zeros_(layer.bias)
    return net


def discriminator_loss(net: nn.Module, x_expert: torch.Tensor, x_policy: torch.Tensor, lambd: float,
                       generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE (expert 1, policy 0) + lambd * WGAN-GP penalty on interpolates of policy and expert inputs."""
    logit_e, logit_p = net(torch.cat([x_expert, x_policy])).squeeze(1).split([len(x_expert), len(x_policy)])
    bce = (nn.functional.binary_cross_entropy_with_logits(logit_e, torch.ones_like(logit_e))
           + nn.functional.binary_cross_entropy_with_logits(logit_p, torch.zeros_like(logit_p)))
    eps = torch.rand(len(x_policy), 1, generator=generator)
    inter = eps * x_policy + (1 - eps) * x_expert
    penalty = ((input_gradient(net, inter).norm(dim=1) - 1.0) ** 2).mean()
    acc = 0.5 * ((logit_e > 0).float().mean() + (logit_p < 0).float().mean())
    stats = {"disc_bce": bce.detach(), "disc_penalty": penalty.detach(), "disc_acc": acc}  # read once, at the end
    return bce + lambd * penalty, stats


def input_gradient(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """d logit / d x of the one-hidden-layer tanh discriminator, written out:
    W1^T (w2 * (1 - tanh(W1 x + b1)^2)). Equal to torch.autograd.grad(..., create_graph=True) (a test
    checks) but a plain differentiable expression: one backward pass per step instead of a double
    backward, which halves the discriminator step (the bulk of DAC's time on a table)."""
    first, last = net[0], net[2]
    hidden = torch.tanh(first(x))
    return ((1.0 - hidden ** 2) * last.weight) @ first.weight


def logit_table(net: nn.Module, n_states: int, n_actions: int) -> Array:
    """(S + 1, A) discriminator logits on every pair; the last row is the absorbing state."""
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


class DAC(IRLMethod):
    """Discriminator-Actor-Critic (Kostrikov et al. 2019), tabular soft-Q generator."""

    name: ClassVar[str] = "dac"
    uses: ClassVar[str] = "demonstrations"
    needs_simulator: ClassVar[bool] = True
    Config: ClassVar[type] = DACConfig
    profiles: ClassVar[dict] = {"smoke": {"total_steps": 12_800}, "quick": {"total_steps": 25_600},
                                "paper": {"total_steps": 200_000}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: DACConfig = self.config
        if task.alpha <= 0:
            raise ValueError("DAC's soft-Q generator needs the task's positive alpha as its temperature")
        n_s, n_a, temp = task.n_states, task.n_actions, task.alpha
        scale = task.alpha if cfg.reward_scale == "alpha" else 1.0
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
