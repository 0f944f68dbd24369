"""Learning from a Learner (Jacq, Geist, Paiva, Pietquin, ICML 2019), tabular form.

The learner is modelled as performing soft policy improvements (SPI) with entropy weight
alpha_model. Theorem 2 inverts one improvement pi_k -> pi_{k+1} into a shaped reward

    r_k(s, a) = alpha ln pi_{k+1}(a|s) + alpha gamma E_{s'|s,a}[ KL(pi_k(.|s') || pi_{k+1}(.|s')) ]

and Algorithm 1 fits one reward r_phi consistent with every improvement, each allowed its own
shaping f_psi_k(s) - gamma E f_psi_k(s') (Eq. 5):

    Alg. 1, lines 1-3    pi_theta_k   <- max likelihood of D_k with an entropy regulariser
    Alg. 1, lines 4-6    divergences  <- tabular: KL computed exactly from pi_theta and P_hat (sec. 6.3)
    Alg. 1, lines 7-9    r_phi        <- ln pi_phi fitted to D_K (reward initialisation; 0 steps in tabular)
    Alg. 1, lines 10-13  r_phi, psi_k <- minimise the consistency loss, Eq. (5)

With the exact policies (the protocol of Table 1) lines 1-3 are skipped.

Defaults. alpha_model 0.7, 10 full-batch policy steps, 200 regression steps and the entropy
regulariser are the paper's (sec. 6.3); the learning rates (0.5 for cloning, 1.0 for the reward)
and the entropy weight 0.01 are the authors' tabular code's, because the text's Adam lr 1e-3 for
10 steps barely moves a tabular policy from uniform. How the tabular regression weighs its
residuals is not pinned down by the paper: Eq. (5) sums over observed pairs (weighting="visits"),
the authors' code over every (s, a) alike (weighting="uniform"). Both let states or actions
without data decide the observer's policy: an unvisited state's estimated policy is uniform, a
target that claims every action there is equally good, and an unobserved (s, a) has made-up
dynamics, so its reward is free to absorb any shaping. The defaults therefore weigh each residual
by its state's visits in D_k and D_{k+1} plus a weak uniform prior weight (weighting="states",
prior_weight), drop residuals of never-observed (s, a), and give reward entries that no residual
constrains the lowest constrained reward (unseen="pessimistic": the observer stays where the
data is). The regression is solved exactly (minimum-norm least squares; solver="adam" runs
Algorithm 1's gradient steps instead, which drift along the loss's null space). `--set method.weighting=uniform --set method.prior_weight=0 --set method.unseen=model`
restores the authors' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from scipy import sparse
from scipy.sparse.linalg import lsqr

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from methods.base import (FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, observer_transitions,
                          transition_counts)

Array = np.ndarray


@dataclass(frozen=True)
class LfLConfig:
    alpha_model: float = bounded(0.7, gt=0.0)  # the entropy weight the observer assumes for the learner (Table 2)
    # Alg. 1 lines 1-3: policy estimation
    policy_steps: int = bounded(10, ge=0)
    policy_lr: float = bounded(0.5, gt=0.0)
    entropy_coef: float = bounded(0.01, ge=0.0)
    # Alg. 1 lines 7-9: reward initialisation r_phi = ln pi_phi on the last batch
    reward_init_steps: int = bounded(0, ge=0)
    # Alg. 1 lines 10-13: consistency regression
    reward_steps: int = bounded(200, ge=0)
    reward_lr: float = bounded(1.0, gt=0.0)
    solver: str = one_of("exact", "exact", "adam")  # minimum-norm least squares, or Algorithm 1's gradient steps
    weighting: str = one_of("states", "states", "visits", "uniform")  # visits: Eq. 5 as written; uniform: authors' code
    # uniform weight added to every residual: a weak prior where data is scarce
    prior_weight: float = bounded(20.0, ge=0.0)
    # never-observed (s, a): drop, then lowest reward; or model
    unseen: str = one_of("pessimistic", "pessimistic", "model")
    reward_form: str = one_of("state_action", "state_action", "state_only")  # state_only: section 4.3

    def __post_init__(self) -> None:
        check_config(self, "method")


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


def fit_consistent_reward(
    targets: Array, transitions: Array, gamma: float, weights: Array, *, state_only: bool,
    init: Array | None, solver: str, steps: int, lr: float,
) -> tuple[Array, float]:
    """Alg. 1 lines 10-13: minimise Eq. (5) on tables,

        sum_k sum_{s,a} w_k(s,a) (r(s,a) + f_k(s) - gamma E_{s'|s,a} f_k(s') - target_k(s,a))^2,

    over one reward and a shaping potential f_k per improvement. Returns the (S, A) reward (a
    state-only one broadcast over actions) and the final loss."""
    n_k, n_s, n_a = targets.shape
    if solver == "exact":
        reward, potentials = _least_squares(targets, transitions, gamma, weights, state_only)
    else:
        P, t, w = (torch.as_tensor(x) for x in (transitions, targets, weights))
        start = np.zeros(n_s if state_only else (n_s, n_a)) if init is None else init
        reward_t = torch.tensor(start, requires_grad=True)
        potentials_t = torch.zeros((n_k, n_s), dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([reward_t, potentials_t], lr=lr)
        for _ in range(steps):
            r = reward_t[:, None] if state_only else reward_t
            shaping = potentials_t[:, :, None] - gamma * torch.einsum("sat,kt->ksa", P, potentials_t)
            loss = (w * (r[None] + shaping - t) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        reward, potentials = reward_t.detach().numpy(), potentials_t.detach().numpy()
    r = np.repeat(reward[:, None], n_a, axis=1) if state_only else reward
    shaped = r[None] + potentials[:, :, None] - gamma * np.einsum("sat,kt->ksa", transitions, potentials)
    return r, float((weights * (shaped - targets) ** 2).sum())


def _least_squares(targets: Array, transitions: Array, gamma: float, weights: Array,
                   state_only: bool) -> tuple[Array, Array]:
    """The exact minimum-norm minimiser of Eq. (5), a sparse weighted linear least-squares problem.

    Eq. (5) has a null space (r + shaping g, f_k - g under the estimated dynamics): gradient steps
    drift along it, which changes the observer's policy wherever the estimated dynamics are wrong;
    the minimum-norm solution (LSQR from zero) does not drift."""
    n_k, n_s, n_a = targets.shape
    n_r = n_s if state_only else n_s * n_a
    reward_block = sparse.csr_matrix(np.eye(n_s).repeat(n_a, axis=0) if state_only else np.eye(n_r))
    shaping_block = sparse.csr_matrix(np.eye(n_s).repeat(n_a, axis=0) - gamma * transitions.reshape(n_s * n_a, n_s))
    design = sparse.hstack([sparse.vstack([reward_block] * n_k), sparse.kron(sparse.identity(n_k), shaping_block)])
    sqrt_w = np.sqrt(weights.reshape(-1))
    rows = sqrt_w > 0
    design = (sparse.diags(sqrt_w) @ design).tocsr()[rows]
    solution = lsqr(design, (targets.reshape(-1) * sqrt_w)[rows], atol=1e-12, btol=1e-12, iter_lim=100_000)[0]
    reward = solution[:n_r] if state_only else solution[:n_r].reshape(n_s, n_a)
    return reward, solution[n_r:].reshape(n_k, n_s)


def regression_weights(cfg: LfLConfig, counts: Array | None, shape: tuple[int, ...]) -> Array:
    """(K, S, A) weights of Eq. (5)'s residuals; see the module docstring."""
    if counts is None:  # exact policies: every residual is exact
        return np.ones(shape)
    visits_sa = counts.sum(axis=3)  # (K+1, S, A)
    if cfg.weighting == "visits":
        weights = visits_sa[:-1]
    elif cfg.weighting == "states":
        visits = visits_sa.sum(axis=2)
        weights = np.repeat((visits[:-1] + visits[1:])[:, :, None], shape[2], axis=2)
    else:
        weights = np.zeros(shape)
    weights = weights + cfg.prior_weight if cfg.weighting != "uniform" else np.ones(shape)
    if cfg.unseen == "pessimistic":
        weights = weights * (visits_sa.sum(axis=0) > 0)[None]  # drop (s, a) whose dynamics were never seen
    return weights


class LfL(IRLMethod):
    """Learning from a Learner: invert soft policy improvements (Jacq et al. 2019)."""

    name: ClassVar[str] = "lfl"
    uses: ClassVar[str] = "sequence"
    observations: ClassVar[frozenset[str]] = frozenset({"trajectories", "policies"})
    Config: ClassVar[type] = LfLConfig

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: LfLConfig = self.config
        n_s, n_a = task.n_states, task.n_actions
        counts = None
        if data.policies is not None:  # exact protocol (Table 1): policies given, and so must be P
            if task.transitions is None:
                raise NotApplicable("the exact-policy protocol needs the dynamics (protocol.grant_dynamics = true)")
            policies, transitions = data.policies, task.transitions
        else:
            counts = transition_counts(data, n_s, n_a)
            # Alg. 1 lines 1-3: target policies pi_theta_k by regularised maximum likelihood.
            policies = fit_policies(counts.sum(axis=3), steps=cfg.policy_steps, lr=cfg.policy_lr,
                                    entropy_coef=cfg.entropy_coef)
            # Dynamics for the KL and shaping terms: given by the protocol, or counted (sec. 6.3).
            transitions = observer_transitions(task, counts)
        if len(policies) < 2:
            raise NotApplicable("LfL needs at least two observed policies (one improvement)")

        # Alg. 1 lines 4-6 (tabular): Theorem 2 targets with exact KL terms.
        targets = inverted_improvement_rewards(policies, transitions, task.gamma, cfg.alpha_model)
        weights = regression_weights(cfg, counts, targets.shape)

        # Alg. 1 lines 7-9: initialise r_phi = alpha_model ln pi_phi by cloning the last batch.
        init = None
        if cfg.reward_init_steps > 0 and counts is not None and cfg.reward_form == "state_action":
            last = fit_policies(counts[-1:].sum(axis=3), steps=cfg.reward_init_steps, lr=cfg.policy_lr,
                                entropy_coef=cfg.entropy_coef)[0]
            init = cfg.alpha_model * np.log(last)

        # Alg. 1 lines 10-13: one reward consistent with every improvement, Eq. (5).
        reward, loss = fit_consistent_reward(
            targets, transitions, task.gamma, weights, state_only=cfg.reward_form == "state_only",
            init=init, solver=cfg.solver, steps=cfg.reward_steps, lr=cfg.reward_lr)

        constrained = np.broadcast_to(weights.sum(axis=0) > 0, reward.shape)
        if cfg.reward_form == "state_only":
            constrained = np.broadcast_to(constrained.any(axis=1, keepdims=True), reward.shape)
        if cfg.unseen == "pessimistic" and constrained.any():
            reward = np.where(constrained, reward, reward[constrained].min())
        return FitResult(RecoveredReward(table=reward), diagnostics={
            "consistency_loss": loss, "unconstrained_pairs": int((~constrained).sum())})
