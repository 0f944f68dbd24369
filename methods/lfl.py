"""Learning from a Learner (Jacq, Geist, Paiva, Pietquin, ICML 2019), tabular form.

The learner is modelled as performing soft policy improvements (SPI) with entropy weight
alpha_model. Theorem 2 inverts one improvement pi_k -> pi_{k+1} into a shaped reward

    r_k(s, a) = alpha ln pi_{k+1}(a|s) + alpha gamma E_{s'|s,a}[ KL(pi_k(.|s') || pi_{k+1}(.|s')) ]

and Algorithm 1 fits one reward r_phi consistent with every improvement, each allowed its own
shaping f_psi_k(s) - gamma E f_psi_k(s'):

    Alg. 1, lines 1-3    pi_theta_k   <- max likelihood of D_k with an entropy regulariser
    Alg. 1, lines 4-6    divergences  <- tabular: KL computed exactly from pi_theta and P (sec. 6.3)
    Alg. 1, lines 7-9    r_phi        <- ln pi_phi fitted to D_K (reward initialisation; 0 steps in tabular)
    Alg. 1, lines 10-13  r_phi, psi_k <- minimise the consistency loss, Eq. (5)

With the exact policies (the protocol of Table 1) lines 1-6 are skipped. Defaults are the
values of the authors' tabular code where they differ from the text (the text's 10 Adam steps
at lr 1e-3 barely move a tabular policy from uniform): cloning lr 0.5, reward lr 1.0, entropy
regulariser 0.01; the regression sums over every (s, a) with the KL under the estimated
dynamics, as in that code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from envs.datasets import ObservationDataset
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo, estimate_transitions, transition_counts

Array = np.ndarray


@dataclass(frozen=True)
class LfLConfig:
    alpha_model: float = 0.7  # the entropy weight the observer assumes for the learner (Table 2)
    # Alg. 1 lines 1-3: policy estimation
    policy_steps: int = 10
    policy_lr: float = 0.5
    entropy_coef: float = 0.01
    # Alg. 1 lines 7-9: reward initialisation r_phi = ln pi_phi on the last batch
    reward_init_steps: int = 0
    # Alg. 1 lines 10-13: consistency regression
    reward_steps: int = 200
    reward_lr: float = 1.0
    solver: str = "adam"  # "adam" (Algorithm 1's gradient steps) or "exact" (least squares)
    # "uniform": every (s, a) alike (authors' code); "visits": the observed pairs n_k(s, a) (Eq. 5 as
    # written); "states": every action of a state, weighted by the state's visits in D_k and D_k+1
    weighting: str = "uniform"
    reward_form: str = "state_action"  # or "state_only" (section 4.3)

    def __post_init__(self) -> None:
        choices = {"solver": ("adam", "exact"), "weighting": ("uniform", "visits", "states"),
                   "reward_form": ("state_action", "state_only")}
        for key, valid in choices.items():
            if getattr(self, key) not in valid:
                raise ValueError(f"method.{key} must be one of {', '.join(valid)}; got {getattr(self, key)!r}")
        if self.alpha_model <= 0:
            raise ValueError("method.alpha_model must be positive")


def inverted_improvement_rewards(policies: Array, transitions: Array, gamma: float, alpha: float) -> Array:
    """(K, S, A) Theorem 2 targets, one per consecutive pair of (K+1, S, A) policies."""
    log_p = np.log(policies)
    kl = (policies[:-1] * (log_p[:-1] - log_p[1:])).sum(axis=2)  # (K, S): KL(pi_k || pi_{k+1})
    return alpha * log_p[1:] + alpha * gamma * np.einsum("sat,kt->ksa", transitions, kl)


def fit_policies(counts_sa: Array, *, steps: int, lr: float, entropy_coef: float) -> Array:
    """Alg. 1 lines 1-3: tabular maximum likelihood of each batch, with an entropy bonus per
    sample (keeps unseen actions possible). counts_sa: (K+1, S, A) -> policies (K+1, S, A)."""
    counts = torch.as_tensor(counts_sa)
    logits = torch.zeros_like(counts, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    state_counts = counts.sum(dim=2)
    for _ in range(steps):
        log_pi = torch.log_softmax(logits, dim=2)
        entropy = -(log_pi.exp() * log_pi).sum(dim=2)
        loss = -(counts * log_pi).sum() - entropy_coef * (state_counts * entropy).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.softmax(logits.detach(), dim=2).numpy()


def consistency_problem(targets: Array, transitions: Array, gamma: float, weights: Array, state_only: bool):
    """Eq. (5) on tables: residual_k(s,a) = r(s,a) + f_k(s) - gamma E f_k(s') - target_k(s,a)."""

    def residuals(reward: torch.Tensor, potentials: torch.Tensor, P: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        r = reward[:, None] if state_only else reward
        shaping = potentials[:, :, None] - gamma * torch.einsum("sat,kt->ksa", P, potentials)
        return r[None] + shaping - t

    return residuals


def fit_consistent_reward(
    targets: Array,
    transitions: Array,
    gamma: float,
    weights: Array,
    *,
    state_only: bool,
    init: Array | None,
    solver: str,
    steps: int,
    lr: float,
) -> tuple[Array, float]:
    """Alg. 1 lines 10-13: one reward and a shaping potential per improvement. Returns the
    (S, A) reward (a state-only one broadcast over actions) and the final weighted loss."""
    n_k, n_s, n_a = targets.shape
    if solver == "exact":
        reward = _least_squares_reward(targets, transitions, gamma, weights, state_only)
        potentials = None
    else:
        residuals = consistency_problem(targets, transitions, gamma, weights, state_only)
        P, t, w = (torch.as_tensor(x) for x in (transitions, targets, weights))
        start = np.zeros(n_s if state_only else (n_s, n_a)) if init is None else init
        reward_t = torch.tensor(start, requires_grad=True)
        potentials_t = torch.zeros((n_k, n_s), dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([reward_t, potentials_t], lr=lr)
        for _ in range(steps):
            loss = (w * residuals(reward_t, potentials_t, P, t) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        reward, potentials = reward_t.detach().numpy(), potentials_t.detach().numpy()
    r = np.repeat(reward[:, None], n_a, axis=1) if state_only else reward
    shaped = r[None] if potentials is None else r[None] + potentials[:, :, None] - gamma * np.einsum(
        "sat,kt->ksa", transitions, potentials)
    loss = float((weights * (shaped - targets) ** 2).sum()) if potentials is not None else float("nan")
    return r, loss


def _least_squares_reward(targets: Array, transitions: Array, gamma: float, weights: Array, state_only: bool) -> Array:
    """The exact minimiser of Eq. (5): one weighted linear least-squares problem."""
    n_k, n_s, n_a = targets.shape
    n_r = n_s if state_only else n_s * n_a
    rows = n_k * n_s * n_a
    design = np.zeros((rows, n_r + n_k * n_s))
    idx = np.arange(rows).reshape(n_k, n_s, n_a)
    for k in range(n_k):
        for s in range(n_s):
            for a in range(n_a):
                row = idx[k, s, a]
                design[row, s if state_only else s * n_a + a] = 1.0
                design[row, n_r + k * n_s + s] += 1.0
                design[row, n_r + k * n_s: n_r + (k + 1) * n_s] -= gamma * transitions[s, a]
    sqrt_w = np.sqrt(weights.reshape(-1))
    solution, *_ = np.linalg.lstsq(design * sqrt_w[:, None], targets.reshape(-1) * sqrt_w, rcond=None)
    reward = solution[:n_r]
    return reward if state_only else reward.reshape(n_s, n_a)


class LfL(IRLMethod):
    """Learning from a Learner: invert soft policy improvements (Jacq et al. 2019)."""

    name: ClassVar[str] = "lfl"
    uses: ClassVar[str] = "sequence"
    Config: ClassVar[type] = LfLConfig

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: LfLConfig = self.config
        if not task.tabular:
            raise NotImplementedError("LfL's continuous form comes with the MuJoCo track")
        n_s, n_a = task.n_states, task.n_actions
        if data.policies is not None:
            # Exact protocol (Table 1): the policies are given, so are the dynamics.
            policies = data.policies
            counts = None
            if task.transitions is None:
                raise ValueError("the exact-policy protocol needs the dynamics (protocol.grant_dynamics=true)")
            transitions = task.transitions
        else:
            counts = transition_counts(data, n_s, n_a)
            # Alg. 1 lines 1-3: target policies pi_theta_k by regularised maximum likelihood.
            policies = fit_policies(counts.sum(axis=3), steps=cfg.policy_steps, lr=cfg.policy_lr,
                                    entropy_coef=cfg.entropy_coef)
            # Dynamics for the KL and shaping terms: given by the protocol, or counted (sec. 6.3).
            transitions = task.transitions if task.transitions is not None else estimate_transitions(counts)
        if len(policies) < 2:
            raise ValueError("LfL needs at least two observed policies (one improvement)")

        # Alg. 1 lines 4-6 (tabular): Theorem 2 targets with exact KL terms.
        targets = inverted_improvement_rewards(policies, transitions, task.gamma, cfg.alpha_model)
        if cfg.weighting == "visits" and counts is not None:
            weights = counts[:-1].sum(axis=3)  # Eq. (5) sums over the pairs observed in D_k
        elif cfg.weighting == "states" and counts is not None:
            visits = counts.sum(axis=(2, 3))  # (K+1, S)
            weights = np.repeat((visits[:-1] + visits[1:])[:, :, None], n_a, axis=2)
        else:
            weights = np.ones_like(targets)

        # Alg. 1 lines 7-9: initialise r_phi = ln pi_phi by cloning the last batch.
        init = None
        if cfg.reward_init_steps > 0 and counts is not None and cfg.reward_form == "state_action":
            last = fit_policies(counts[-1:].sum(axis=3), steps=cfg.reward_init_steps, lr=cfg.policy_lr,
                                entropy_coef=cfg.entropy_coef)[0]
            init = np.log(last)

        # Alg. 1 lines 10-13: one reward consistent with every improvement, Eq. (5).
        reward, loss = fit_consistent_reward(
            targets, transitions, task.gamma, weights, state_only=cfg.reward_form == "state_only",
            init=init, solver=cfg.solver, steps=cfg.reward_steps, lr=cfg.reward_lr)
        return FitResult(RecoveredReward(table=reward), diagnostics={"consistency_loss": loss})
