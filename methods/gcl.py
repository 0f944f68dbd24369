"""Guided Cost Learning (Finn, Levine, Abbeel; ICML 2016), tabular form with a simulator.

Sample-based maximum-entropy IRL: demonstrations are modelled as p(tau) ~ p_dyn(tau) exp(R(tau) / alpha)
and the partition function Z = sum_tau p_dyn(tau) exp(R(tau) / alpha) is estimated by importance
sampling from a sampling policy q that is trained alongside the reward (paper Alg. 1 and 2):

    for iteration i = 1..iterations:
        D_samp <- D_samp + segments rolled out from q_i                   (Alg. 1: generate samples)
        for k = 1..reward_steps:                                          (Alg. 2: cost update)
            D_d  <- minibatch of demo segments;  D_s <- minibatch of D_samp, then D_s <- D_s + D_d
            z_j  <- 1 / q_mix(tau_j)     q_mix: the mixture of every sampling policy in D_samp and
                                         the demos' density, weighted by their shares of D_s
            L    <- -mean_{D_d} R(tau) / alpha + log( mean_{D_s} z_j exp(R(tau_j) / alpha) )
            r    <- Adam step on L      (log-sum-exp throughout)
        q_{i+1} <- policy_steps soft policy iteration steps from q_i on the current r   (Alg. 1: update q)

Tabular choices (the paper's cost is a neural network, its policy optimiser guided policy search):

* Reward: a free (S, A) table r, initialised at zero (not linear in TaskInfo.features: the
  reward r = alpha ln pi_E below depends on the action, which the gridworld's one-hot state
  features cannot express).
* Trajectories are segments of `horizon` consecutive pairs. The demonstrations are the last
  `demo_batches` observed batches, each a continuous stream from the start state, cut into
  consecutive segments (a shorter remainder is dropped, segments never cross batches). Only the
  first segment of a stream starts at the start state; later ones start wherever the stream is.
  Sample segments therefore start (segment_start="demos", default) from the demo segments' first
  states, drawn uniformly, so that samples and demonstrations share the first-state distribution
  rho and the model p(tau) = rho(s0) prod P(s'|s,a) exp(R / alpha) / Z can represent them;
  segment_start="task" starts them from TaskInfo.start as in the paper (then rho differs from the
  demos' and the MLE is biased: regret 0.13-0.28 against 0.16-0.20 over seeds 0-4 at 1000 pairs).
  Both roll out in the true dynamics: model access (TaskInfo.transitions) and TaskInfo.start are required.
* R(tau) = sum_t r(s_t, a_t), undiscounted. Reward scale: the likelihood is exp(R / alpha) with
  the task's alpha. Then r = alpha ln pi_E reproduces the demonstrator's segment distribution
  exactly (Z = 1 for every first state), and its soft-optimal policy at alpha is pi_E itself
  (E_pi[alpha ln pi_E] + alpha H(pi) = -alpha KL(pi || pi_E) <= 0 with equality at pi_E), so the
  MaxEnt fixed point is on the observer's scale. A gamma^t weighting would break this identity.
* Importance weights are exact: q is a known tabular policy and the dynamics and first-state
  factors of p and q cancel, so log z_j = -log sum_c w_c prod_t pi_c(a_t|s_t). The demos' density
  (the paper's crude demo density estimate) is the Laplace-smoothed empirical demo policy.
* Policy update: the paper's guided policy search is replaced by its tabular analogue on the
  granted model: `policy_steps` soft policy iteration steps (exact soft policy evaluation, then
  pi <- softmax(Q / alpha)) at the task's alpha against the current reward, interleaved with the
  reward updates. SPI is Newton's method on the soft Bellman equation, so one step per iteration
  keeps q close to, but behind, the soft-optimal policy of the moving reward. The last q is
  FitResult.policy. The trained q matters: with policy_steps=0 (q uniform throughout) the weights
  are heavy-tailed and the regret rises from 0.16-0.20 to 0.47-0.55 (seeds 0-2, 1000 pairs).
* The paper's regularisers (lcr, mono) act on a neural cost's time series; they are omitted. A
  weak l2 penalty keeps never-demonstrated (s, a) entries finite.

Defaults are for the 25-state gridworld (the paper gives no values for tabular problems): horizon 20
(about two start-to-goal cycles), 64 segments per iteration, a sample pool of the last 10 iterations,
minibatches of 64 + 64 segments, 10 reward steps of Adam lr 0.05 per iteration, 1 SPI step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from scipy.special import logsumexp

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import Batch, ObservationDataset
from envs.tabular.mdp import TabularMDP, soft_policy_improvement, uniform_policy
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo

Array = np.ndarray


@dataclass(frozen=True)
class GCLConfig:
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    horizon: int = bounded(20, ge=1)  # T: length of demo and sample segments
    # sample segments' first states: demo segments' or TaskInfo.start
    segment_start: str = one_of("demos", "demos", "task")
    iterations: int = bounded(100, ge=0)  # Alg. 1 iterations (sample, cost update, policy update)
    samples_per_iteration: int = bounded(64, ge=1)  # segments rolled out from q each iteration
    history: int = bounded(10, ge=1)  # D_samp keeps the samples of the last `history` iterations
    reward_steps: int = bounded(10, ge=0)  # Alg. 2 gradient steps per iteration
    batch_size: int = bounded(64, ge=0)  # demo and sample segments per minibatch (0: all of them)
    lr: float = bounded(0.05, gt=0.0)  # Adam learning rate on the reward table
    l2: float = bounded(1e-3, ge=0.0)  # weight of (1/2) mean(r^2)
    policy_steps: int = bounded(1, ge=0)  # soft policy iteration steps on q per iteration
    demo_prior: float = bounded(1.0, gt=0.0)  # Laplace pseudo-count of the empirical demo policy (demo density)

    def __post_init__(self) -> None:
        check_config(self, "method")


def demo_segments(batches: tuple[Batch, ...], horizon: int) -> tuple[Array, Array]:
    """(N, T) states and actions: each batch's stream cut into consecutive length-T segments."""
    states, actions = [], []
    for batch in batches:
        n = len(batch) // horizon * horizon
        states.append(batch.observations[:n].reshape(-1, horizon))
        actions.append(batch.actions[:n].reshape(-1, horizon))
    return np.concatenate(states), np.concatenate(actions)


def rollout(transitions: Array, policy: Array, first_states: Array, horizon: int,
            rng: np.random.Generator) -> tuple[Array, Array]:
    """(N, T) states and actions of N segments of `policy` from the given first states."""
    n = len(first_states)
    states = np.empty((n, horizon), dtype=np.int64)
    actions = np.empty((n, horizon), dtype=np.int64)
    policy_cdf, transition_cdf = np.cumsum(policy, axis=1), np.cumsum(transitions, axis=2)
    s = first_states.astype(np.int64)
    for t in range(horizon):
        u = rng.random((n, 2))
        a = np.minimum((u[:, :1] >= policy_cdf[s]).sum(axis=1), policy.shape[1] - 1)
        states[:, t], actions[:, t] = s, a
        s = np.minimum((u[:, 1:] >= transition_cdf[s, a]).sum(axis=1), transitions.shape[0] - 1)
    return states, actions


def segment_log_prob(log_policy: Array, states: Array, actions: Array) -> Array:
    """(N,) sum_t ln pi(a_t | s_t): a segment's log density under a policy, dynamics omitted."""
    return log_policy[states, actions].sum(axis=1)


def log_partition_estimate(reward: torch.Tensor, states: Array, actions: Array, log_q: torch.Tensor,
                           alpha: float) -> torch.Tensor:
    """Importance-sampled ln Z = ln mean_j exp(R(tau_j) / alpha - ln q(tau_j)), tau_j ~ q."""
    returns = reward[states, actions].sum(dim=1) / alpha
    return torch.logsumexp(returns - log_q, dim=0) - np.log(len(states))


def exact_log_partition(transitions: Array, reward: Array, first_states: Array, horizon: int, alpha: float) -> float:
    """ln sum_tau rho(s0) prod P exp(R(tau) / alpha), rho = the first states' empirical law
    (backward recursion; the exact value the importance-sampled estimate targets)."""
    log_p = np.log(np.maximum(transitions, 1e-300))
    log_beta = np.zeros(transitions.shape[0])  # ln of the sum over the remaining steps' continuations
    for _ in range(horizon):
        log_beta = logsumexp(reward / alpha + logsumexp(log_p + log_beta, axis=2), axis=1)
    rho = np.bincount(first_states, minlength=transitions.shape[0]) / len(first_states)
    return float(logsumexp(log_beta, b=rho))


def gcl_loss(reward: torch.Tensor, demo: tuple[Array, Array], background: tuple[Array, Array],
             log_q_mix: torch.Tensor, alpha: float, l2: float) -> torch.Tensor:
    """-mean_demo R / alpha + importance-sampled ln Z on the background set + l2."""
    demo_return = reward[demo].sum(dim=1).mean() / alpha
    log_z = log_partition_estimate(reward, *background, log_q_mix, alpha)
    return -demo_return + log_z + 0.5 * l2 * (reward**2).mean()


class GuidedCostLearning(IRLMethod):
    """Guided Cost Learning, tabular reward, soft policy iteration as the policy optimiser (Finn et al. 2016)."""

    name: ClassVar[str] = "gcl"
    uses: ClassVar[str] = "demonstrations"
    needs_model: ClassVar[bool] = True  # its policy step is soft policy iteration under the true dynamics
    Config: ClassVar[type] = GCLConfig
    profiles: ClassVar[dict] = {"smoke": {"iterations": 30}, "quick": {"iterations": 100},
                                "paper": {"iterations": 300}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: GCLConfig = self.config
        if task.start is None:
            raise ValueError("GCL rolls out segments in a simulator: it needs the task's start distribution "
                             "(TaskInfo.start)")
        if task.alpha <= 0:
            raise ValueError("GCL needs the task's positive alpha (the temperature of exp(R / alpha))")
        n_s, n_a, alpha, horizon = task.n_states, task.n_actions, task.alpha, cfg.horizon
        demo_s, demo_a = demo_segments(data.last(cfg.demo_batches), horizon)
        if len(demo_s) == 0:
            raise ValueError(f"GCL: the demonstrations have fewer than horizon={horizon} pairs")
        rng = np.random.default_rng(seed)
        mdp = TabularMDP(task.transitions, np.zeros((n_s, n_a)), task.gamma, np.full(n_s, 1.0 / n_s))

        # The demos' density for the mixture: the Laplace-smoothed empirical demo policy.
        counts = np.zeros((n_s, n_a))
        np.add.at(counts, (demo_s, demo_a), 1.0)
        demo_policy = (counts + cfg.demo_prior / n_a) / (counts.sum(1, keepdims=True) + cfg.demo_prior)
        demo_log_q_demo = segment_log_prob(np.log(demo_policy), demo_s, demo_a)

        reward = torch.zeros((n_s, n_a), dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([reward], lr=cfg.lr)
        policy = uniform_policy(n_s, n_a)
        pool: list[tuple[Array, Array, Array]] = []  # per iteration: states, actions, its policy's log table
        loss = torch.tensor(0.0)
        for _ in range(cfg.iterations):
            # Alg. 1: generate samples from q_i.
            if cfg.segment_start == "demos":
                first = demo_s[rng.integers(len(demo_s), size=cfg.samples_per_iteration), 0]
            else:
                first = rng.choice(n_s, size=cfg.samples_per_iteration, p=task.start)
            pool = (pool + [(*rollout(task.transitions, policy, first, horizon, rng), np.log(policy))])[-cfg.history:]
            samp_s = np.concatenate([p[0] for p in pool])
            samp_a = np.concatenate([p[1] for p in pool])
            # ln q_c(tau) of every pool sample and demo under every pool policy c (dynamics cancel).
            samp_log_q = np.stack([segment_log_prob(p[2], samp_s, samp_a) for p in pool], axis=1)
            demo_log_q = np.stack([segment_log_prob(p[2], demo_s, demo_a) for p in pool], axis=1)
            samp_log_q_demo = segment_log_prob(np.log(demo_policy), samp_s, samp_a)

            # Alg. 2: cost update on minibatches; the demo minibatch joins the background.
            for _ in range(cfg.reward_steps):
                d = self._minibatch(len(demo_s), cfg.batch_size, rng)
                b = self._minibatch(len(samp_s), cfg.batch_size, rng)
                share = len(d) / (len(d) + len(b))  # mixture: demo density and the pool's policies
                log_q_mix = logsumexp(
                    np.concatenate([
                        np.stack([demo_log_q_demo[d], logsumexp(demo_log_q[d], axis=1) - np.log(len(pool))], 1),
                        np.stack([samp_log_q_demo[b], logsumexp(samp_log_q[b], axis=1) - np.log(len(pool))], 1)]),
                    b=np.array([share, 1.0 - share]), axis=1)
                background = (np.concatenate([demo_s[d], samp_s[b]]), np.concatenate([demo_a[d], samp_a[b]]))
                loss = gcl_loss(reward, (demo_s[d], demo_a[d]), background, torch.as_tensor(log_q_mix),
                                alpha, cfg.l2)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            # Alg. 1: improve q against the current reward (tabular stand-in for guided policy search).
            r = reward.detach().numpy()
            for _ in range(cfg.policy_steps):
                policy = soft_policy_improvement(mdp, policy, alpha, r)

        table = reward.detach().numpy().copy()
        return FitResult(RecoveredReward(table=table), policy=policy, diagnostics={
            "final_loss": float(loss.detach()), "demo_segments": int(len(demo_s)), "horizon": horizon,
            "iterations": cfg.iterations, "temperature": float(alpha), "segment_start": cfg.segment_start})

    @staticmethod
    def _minibatch(n: int, size: int, rng: np.random.Generator) -> Array:
        """Indices of a minibatch drawn with replacement (all of them when size is 0)."""
        return np.arange(n) if size == 0 else rng.integers(n, size=size)
