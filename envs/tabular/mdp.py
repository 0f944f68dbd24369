"""Tabular MDPs and exact entropy-regularized (soft) dynamic programming.

Conventions (Jacq et al. 2019, section 4): for a policy pi and entropy weight alpha,

    V^pi(s)   = E_{a~pi}[ r(s,a) - alpha ln pi(a|s) + gamma E_{s'}[V^pi(s')] ]
    Q^pi(s,a) = r(s,a) + gamma E_{s'}[V^pi(s')]

so Q excludes the entropy of the current step and V includes it. J(pi) = E_{s0~mu0}[V^pi(s0)].
Shapes: S states, A actions; transitions (S, A, S), reward (S, A), policies (S, A) with rows
summing to one. Everything is vectorized; policy evaluation is one linear solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax, xlogy

Array = np.ndarray


@dataclass(frozen=True)
class TabularMDP:
    """A finite discounted MDP.

    transitions: (S, A, S) with P[s, a, s'] = P(s' | s, a); rows sum to one.
    reward: (S, A) true reward r(s, a).
    gamma: discount in [0, 1).
    start: (S,) start-state distribution mu0.
    features: optional (S, A, F) reward features (for linear-reward methods).
    """

    transitions: Array
    reward: Array
    gamma: float
    start: Array
    features: Array | None = None

    def __post_init__(self) -> None:
        P, r, mu = self.transitions, self.reward, self.start
        if P.ndim != 3 or P.shape[0] != P.shape[2] or r.shape != P.shape[:2] or mu.shape != P.shape[:1]:
            raise ValueError(f"inconsistent shapes: transitions {P.shape}, reward {r.shape}, start {mu.shape}")
        if not np.allclose(P.sum(axis=2), 1.0) or not np.isclose(mu.sum(), 1.0):
            raise ValueError("transition rows and the start distribution must sum to one")
        if not 0.0 <= self.gamma < 1.0:
            raise ValueError(f"gamma must be in [0, 1), got {self.gamma}")

    @property
    def n_states(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transitions.shape[1]

    def with_reward(self, reward: Array) -> TabularMDP:
        """The same dynamics under another (S, A) reward."""
        return TabularMDP(self.transitions, np.asarray(reward, dtype=float), self.gamma, self.start, self.features)


def uniform_policy(n_states: int, n_actions: int) -> Array:
    return np.full((n_states, n_actions), 1.0 / n_actions)


def entropy(policy: Array) -> Array:
    """(S,) Shannon entropy of each state's action distribution (0 ln 0 = 0)."""
    return -xlogy(policy, policy).sum(axis=1)


def soft_state_values(mdp: TabularMDP, policy: Array, alpha: float, reward: Array | None = None) -> Array:
    """(S,) soft value V^pi: solves (I - gamma P_pi) V = r_pi + alpha H_pi exactly."""
    r = mdp.reward if reward is None else reward
    r_pi = (policy * r).sum(axis=1) + alpha * entropy(policy)
    P_pi = np.einsum("sa,sat->st", policy, mdp.transitions)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * P_pi, r_pi)


def soft_q_values(mdp: TabularMDP, policy: Array, alpha: float, reward: Array | None = None) -> Array:
    """(S, A) soft Q^pi = r + gamma P V^pi."""
    r = mdp.reward if reward is None else reward
    return r + mdp.gamma * mdp.transitions @ soft_state_values(mdp, policy, alpha, r)


def soft_score(mdp: TabularMDP, policy: Array, alpha: float, reward: Array | None = None) -> float:
    """J(pi) = E_{mu0}[V^pi(s0)], the entropy term included."""
    return float(mdp.start @ soft_state_values(mdp, policy, alpha, reward))


def boltzmann(q: Array, alpha: float) -> Array:
    """(S, A) policy proportional to exp(Q / alpha)."""
    return softmax(q / alpha, axis=1)


def soft_policy_improvement(mdp: TabularMDP, policy: Array, alpha: float, reward: Array | None = None) -> Array:
    """SPI_r{pi} (Eq. 3): pi'(a|s) proportional to exp(Q^pi_soft(s,a) / alpha)."""
    return boltzmann(soft_q_values(mdp, policy, alpha, reward), alpha)


def soft_bellman_optimality(mdp: TabularMDP, q: Array, alpha: float, reward: Array | None = None) -> Array:
    """One soft value iteration step: Q <- r + gamma P [alpha logsumexp(Q / alpha)]."""
    r = mdp.reward if reward is None else reward
    v = alpha * logsumexp(q / alpha, axis=1)
    return r + mdp.gamma * mdp.transitions @ v


def soft_optimal_policy(
    mdp: TabularMDP, alpha: float, reward: Array | None = None, *, tol: float = 1e-13, max_iter: int = 10_000
) -> Array:
    """The unique soft-optimal policy, by soft policy iteration to convergence.

    Soft policy iteration is Newton's method on the soft Bellman equation, so it converges in
    a handful of linear solves; the loop stops when the soft Q-function stops changing.
    """
    r = mdp.reward if reward is None else np.asarray(reward, dtype=float)
    policy = uniform_policy(mdp.n_states, mdp.n_actions)
    q = soft_q_values(mdp, policy, alpha, r)
    for _ in range(max_iter):
        policy = boltzmann(q, alpha)
        q_next = soft_q_values(mdp, policy, alpha, r)
        if np.max(np.abs(q_next - q)) <= tol * max(1.0, np.max(np.abs(q_next))):
            return boltzmann(q_next, alpha)
        q = q_next
    raise RuntimeError("soft policy iteration did not converge")


def shaping(mdp: TabularMDP, potential: Array) -> Array:
    """(S, A) potential-based shaping f(s) - gamma E_{s'|s,a}[f(s')] (Lemma 1)."""
    return potential[:, None] - mdp.gamma * mdp.transitions @ potential
