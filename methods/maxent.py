"""Maximum causal entropy IRL (Ziebart et al. 2008, 2010), discounted, tabular, known dynamics.

The demonstrator is modelled as the soft-optimal policy of a linear reward r_theta = Phi theta at
the task's entropy weight alpha, and theta maximises the likelihood of the demonstrations:

    pi_theta     = soft-optimal policy of r_theta              (soft policy iteration, exact)
    L(theta)     = sum_t ln pi_theta(a_t | s_t) - (l2 / 2) N ||theta||^2
    psi_theta    = d Q_theta / d theta = Phi + gamma P pi_theta psi_theta        (successor features)
    dL/dtheta    = (1/alpha) sum_t [ psi(s_t, a_t) - E_{a ~ pi_theta(.|s_t)} psi(s_t, a) ]

In expectation this gradient is the familiar feature-matching one (the demonstrator's discounted
feature expectations minus the model's); here it is exact for the demonstrations actually seen,
which are continuous streams rather than episodes from the start state. imitation's MCE IRL
assumes a finite horizon, so it is written here on our infinite-horizon TabularMDP instead.
Optimised with L-BFGS; the dynamics are the task's when the protocol grants them, otherwise
counted from the observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from envs.tabular.mdp import TabularMDP, soft_optimal_policy
from methods.base import (FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, observer_transitions,
                          transition_counts)

Array = np.ndarray


@dataclass(frozen=True)
class MaxEntConfig:
    # task: the task's reward features; tabular: one indicator per (s, a)
    features: str = one_of("task", "task", "tabular")
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    # per-sample weight of the Gaussian prior on theta (keeps unvisited entries finite)
    l2: float = bounded(1e-5, ge=0.0)
    max_iter: int = bounded(200, ge=1)  # L-BFGS iterations (scipy runs one even at maxiter 0)

    def __post_init__(self) -> None:
        check_config(self, "method")


def successor_features(transitions: Array, policy: Array, features: Array, gamma: float) -> Array:
    """(S, A, F) psi = Phi + gamma P pi psi: discounted feature expectations from each (s, a)."""
    n_s, n_a, n_f = features.shape
    next_pairs = np.einsum("sat,tb->satb", transitions, policy).reshape(n_s * n_a, n_s * n_a)
    psi = np.linalg.solve(np.eye(n_s * n_a) - gamma * next_pairs, features.reshape(n_s * n_a, n_f))
    return psi.reshape(n_s, n_a, n_f)


def demonstration_log_likelihood(theta: Array, mdp: TabularMDP, features: Array, counts_sa: Array,
                                 alpha: float) -> tuple[float, Array, Array]:
    """(sum_t ln pi_theta(a_t|s_t), its gradient in theta, pi_theta); counts_sa: (S, A) pair counts."""
    reward = features @ theta
    policy = soft_optimal_policy(mdp, alpha, reward, tol=1e-12)
    log_policy = np.log(np.maximum(policy, 1e-300))
    psi = successor_features(mdp.transitions, policy, features, mdp.gamma)
    advantage_grad = psi - np.einsum("sa,saf->sf", policy, psi)[:, None, :]
    gradient = np.einsum("sa,saf->f", counts_sa, advantage_grad) / alpha
    return float((counts_sa * log_policy).sum()), gradient, policy


class MaxEntIRL(IRLMethod):
    """Maximum causal entropy IRL with known dynamics (Ziebart et al. 2008; 2010)."""

    name: ClassVar[str] = "maxent"
    uses: ClassVar[str] = "demonstrations"
    Config: ClassVar[type] = MaxEntConfig

    @classmethod
    def applicable(cls, data: ObservationDataset, task: TaskInfo) -> None:
        if task.track != "tabular":
            raise NotApplicable("maxent needs the dynamics as a transition table (the task's, or counted from the "
                                "observations) to solve its soft Bellman equation exactly; a continuous task has no "
                                "such model (its form is tabular only)")
        super().applicable(data, task)

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        from scipy.optimize import minimize

        cfg: MaxEntConfig = self.config
        n_s, n_a = task.n_states, task.n_actions
        counts = transition_counts(data, n_s, n_a)
        transitions = observer_transitions(task, counts)
        if cfg.features == "task" and task.features is not None:
            features = task.features
        else:
            features = np.eye(n_s * n_a).reshape(n_s, n_a, n_s * n_a)
        demos = counts[-cfg.demo_batches:].sum(axis=(0, 3))  # (S, A)
        n = demos.sum()
        mdp = TabularMDP(transitions, np.zeros((n_s, n_a)), task.gamma, np.full(n_s, 1.0 / n_s))

        def objective(theta: Array) -> tuple[float, Array]:
            log_likelihood, gradient, _ = demonstration_log_likelihood(theta, mdp, features, demos, task.alpha)
            return (-log_likelihood / n + 0.5 * cfg.l2 * theta @ theta,
                    -gradient / n + cfg.l2 * theta)

        result = minimize(objective, np.zeros(features.shape[2]), jac=True, method="L-BFGS-B",
                          options={"maxiter": cfg.max_iter})
        reward = features @ result.x
        return FitResult(RecoveredReward(table=reward), diagnostics={
            "neg_log_likelihood_per_sample": float(result.fun), "iterations": int(result.nit),
            "converged": str(bool(result.success))})
