"""A policy-gradient learner: G(PO)MDP (Baxter & Bartlett 2001) with a Boltzmann policy, as in LOGEL.

The learner of LOGEL's gridworld experiments (Ramponi, Drappo, Restelli, NeurIPS 2020, section
6.1; authors' code gioramponi/LOGEL, gridworld/learners/learner_gpomdp.py):

    policy     pi_theta(a|s) = softmax([theta_s0, theta_s1, theta_s2, 0])_a  (3 free logits a state)
    for k = 0..K-1:
        D_k        <- batch_size trajectories of `horizon` steps from the start, following pi_theta_k
        g_k        <- G(PO)MDP estimate of grad_theta E[sum_t gamma^t r(s_t, a_t)] on D_k, with the
                      per-timestep, per-parameter variance-minimising baseline of the authors' code
        theta_k+1  <- theta_k + learning_rate * g_k               (plain gradient ascent)

Defaults are the paper's/code's: 50 trajectories of length 20, 30 steps, learning rate 0.1, gamma
taken from the MDP (0.96 on the patch grid). The learner optimises the plain discounted return of
the true reward (no entropy term), so the task's alpha is unused; it samples its own batches with
`rng`. It returns the policies pi_0..pi_K it went through (pi_0 uniform); what the observer sees
of them is sampled separately by envs.tabular.learners.run_learner, like every other learner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import softmax

from envs.config_fields import bounded, check_config
from envs.tabular.mdp import TabularMDP

Array = np.ndarray


@dataclass(frozen=True)
class GPOMDPConfig:
    """G(PO)MDP learner; k gradient steps give K+1 = k+1 observed policies."""

    name: ClassVar[str] = "gpomdp"
    source: ClassVar[str] = "sequence"
    k: int = bounded(30, ge=1)
    batch_size: int = bounded(50, ge=1)
    horizon: int = bounded(20, ge=1)
    learning_rate: float = bounded(0.1, gt=0.0)
    baseline_eps: float = bounded(1e-3, gt=0.0)  # the authors' code adds it to the baseline's denominator (0 gives 0/0)

    def __post_init__(self) -> None:
        check_config(self, "learner")


def logits_policy(theta: Array) -> Array:
    """(S, A) Boltzmann policy of (S, A-1) free logits, the last action's logit fixed at 0."""
    return softmax(np.concatenate([theta, np.zeros((theta.shape[0], 1))], axis=1), axis=1)


def sample_episodes(mdp: TabularMDP, policy: Array, n: int, horizon: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """n independent episodes of `horizon` steps from the start distribution: states, actions (n, T)."""
    states = np.empty((n, horizon), dtype=np.int64)
    actions = np.empty((n, horizon), dtype=np.int64)
    policy_cdf, transition_cdf = np.cumsum(policy, axis=1), np.cumsum(mdp.transitions, axis=2)
    s = np.minimum((rng.random(n)[:, None] > np.cumsum(mdp.start)[None]).sum(axis=1), mdp.n_states - 1)
    for t in range(horizon):
        a = np.minimum((rng.random(n)[:, None] > policy_cdf[s]).sum(axis=1), mdp.n_actions - 1)
        states[:, t], actions[:, t] = s, a
        s = np.minimum((rng.random(n)[:, None] > transition_cdf[s, a]).sum(axis=1), mdp.n_states - 1)
    return states, actions


def score_functions(policy: Array, states: Array, actions: Array) -> Array:
    """(n, T, S*(A-1)) grad_theta ln pi_theta(a_t|s_t): 1[a = j] - pi(j|s) on the visited state's logits."""
    n, horizon = states.shape
    n_s, n_a = policy.shape
    local = np.eye(n_a)[actions][..., :-1] - policy[states][..., :-1]  # (n, T, A-1)
    scores = np.zeros((n, horizon, n_s, n_a - 1))
    idx_n, idx_t = np.meshgrid(np.arange(n), np.arange(horizon), indexing="ij")
    scores[idx_n, idx_t, states] = local
    return scores.reshape(n, horizon, -1)


def gpomdp_gradient(scores: Array, signals: Array, gamma: float, baseline_eps: float = 1e-3) -> Array:
    """G(PO)MDP estimate of d/dtheta E[sum_t gamma^t signal_t] with the optimal per-(t, parameter)
    baseline b = E[G_t^2 gamma^t x_t] / E[G_t^2], G_t = sum_{u<=t} score_u (authors' gpomdp.py).

    scores: (n, T, P); signals: (n, T, L) per-step rewards or reward features -> (P, L)."""
    discounted = gamma ** np.arange(scores.shape[1])[None, :, None] * signals  # (n, T, L)
    cumulative = np.cumsum(scores, axis=1)  # (n, T, P)
    squared = cumulative**2
    baseline = np.einsum("ntp,ntl->tpl", squared, discounted) / (squared.mean(axis=0) + baseline_eps)[..., None]
    baseline /= scores.shape[0]
    # sum_t G_t (x_t - b_t), averaged over episodes, without materialising (n, T, P, L).
    return (np.einsum("ntp,ntl->pl", cumulative, discounted) - np.einsum("ntp,tpl->pl", cumulative, baseline)) / scores.shape[0]


def gpomdp_policies(mdp: TabularMDP, alpha: float, config: GPOMDPConfig, rng: np.random.Generator) -> Array:
    """Run the G(PO)MDP learner on the true reward: its policies (K+1, S, A), pi_0 uniform."""
    del alpha  # a plain-return learner: the task's entropy weight plays no part in its updates
    theta = np.zeros((mdp.n_states, mdp.n_actions - 1))
    policies = [logits_policy(theta)]
    for _ in range(config.k):
        states, actions = sample_episodes(mdp, policies[-1], config.batch_size, config.horizon, rng)
        scores = score_functions(policies[-1], states, actions)
        rewards = mdp.reward[states, actions][..., None]
        gradient = gpomdp_gradient(scores, rewards, mdp.gamma, config.baseline_eps)[:, 0]
        theta = theta + config.learning_rate * gradient.reshape(theta.shape)
        policies.append(logits_policy(theta))
    return np.stack(policies)
