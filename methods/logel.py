"""LOGEL: Learning Observing a Gradient not-Expert Learner (Ramponi, Drappo, Restelli, NeurIPS 2020).

The learner is modelled as gradient ascent on a linear reward r_w = Phi w,

    theta_{t+1} = theta_t + lr_t J_t w,     J_t = d psi(theta) / d theta at theta_t   (P x F),

with psi(theta) the discounted feature expectations of the policy pi_theta (tabular: a Boltzmann
policy, 3 free logits a state, the 4th fixed at 0; continuous: a linear-Gaussian policy, below).
Given D_0..D_K, Algorithm 1 (realistic setting):

    line 1     theta_hat_t  <- behavioural cloning of D_t (max likelihood of pi_theta)
    line 2     J_hat_t      <- Jacobian of psi at theta_hat_t
    lines 3-8  alternate closed forms until w stops moving (block-coordinate descent, Eq. 9 and 5):
                 w     = (sum_t lr_t^2 J_t^T J_t)^-1 sum_t lr_t J_t^T dtheta_t   (+0.01 I if singular)
                 lr_t  = max(dtheta_t^T J_t w / ||J_t w||^2, 0.01)

Choices for the tabular suite, and why:
- Cloning (line 1): the same parameterisation, fitted by exact penalised maximum likelihood (damped
  Newton), sum_t ln pi_theta(a_t|s_t) - (bc_l2 / 2) ||theta||^2. The Gaussian prior at 0 matches a
  gradient learner started from the uniform policy and keeps a never-visited state's clone finite.
  Windows: a G(PO)MDP step moves a logit by ~0.01 while the clone of one 1000-pair batch is off by
  ~0.3, so per-batch differences are noise (measured: cosine to the true weights from -0.8 to 0.9
  over seeds) and the Jacobian at a noisy clone correlates with that noise. The observer therefore
  clones n_windows windows of b = (K+1) // n_windows consecutive batches and applies the same
  regression to the window-to-window changes, each b updates long (Jacobian b J_t at the window's
  clone). n_windows >= K+1 is the paper's per-batch cloning. (The authors' code clones per batch
  with 3 Adam steps of lr 0.5 and an entropy bonus, warm-started from the previous clone; its
  experiments default to the learner's true parameters, bc=False.)
- Jacobian (line 2): the paper estimates J_t with G(PO)MDP on the learner's own 20-step episodes.
  Our observer sees a stream, not episodes, and cannot roll out in the environment, so it computes
  J_t exactly on the tabular model instead (jacobian="exact"): the policy-gradient theorem with the
  feature Q-function, J[s, j, f] = sum_{t<T} gamma^t P(s_t = s) pi(j|s) (Q^f_{T-t}(s, j) - V^f_{T-t}(s)),
  for the horizon T of the learner's episodes (20, the paper's; horizon=None: infinite). The model
  is the task's dynamics when granted, else counted from every batch (estimate_transitions).
  jacobian="gpomdp" instead runs G(PO)MDP on episodes simulated from that model with the seed's rng.
- Scale: w is identified only up to a positive factor traded against the learning rates (lr c,
  w / c). scale="logel" keeps the factor the block-coordinate descent settles on from lr_init (0.1,
  the authors' code); for a gradient learner whose step size is lr_init this is the learner's own
  reward scale. scale="unit" returns w / ||w||. scale="behaviour" rescales w so that the observer's
  soft-optimal policy at the task's alpha best explains the last demo_batches (1-D maximum
  likelihood over log c): the observer plans at alpha, so this calibrates the reward to it.
  Measured on the patch grid (G(PO)MDP learner, 5 seeds) "logel" gives the lowest regret (~0.8-1.9;
  unit norm ~5, behaviour ~14: the learner is still far from optimal, so its behaviour asks for a
  reward too small), hence the default.
- Features with a constant sum (one-hot colours, one-hot states) make J_t 1 = 0 exactly, so
  sum lr^2 J^T J is singular. The paper adds 0.01 I; on this scale (eigenvalues 1e-4 .. 0.5 with
  lr 0.1) that ridge swamps the identified directions and drags w to 0 and the learning rates up
  (measured: cosine 0.69 instead of 0.99 with the exact parameters). The default (ridge=0) takes the
  minimum-norm least-squares solution instead, the ridge -> 0 limit: the constant direction of w
  (which changes no policy) is set to 0 and nothing else is shrunk. ridge=0.01 restores the paper.

The continuous form (MuJoCo track, LOGELContinuousConfig), the same Algorithm 1:

    phi(s, a, s')  the task's reward features (TaskInfo.reward_features, envs/mujoco/features.py): the
                   paper's for Reacher (25 Gaussian RBFs of the fingertip-to-target offset, |a|^2) and
                   Hopper (forward displacement, alive indicator, |a|^2); the others as features.py
                   defines them after Hopper's pattern (HalfCheetah: forward, |a|^2; Ant, Walker2d:
                   forward, alive, |a|^2)
    pi_theta       N(W^T psi(s), diag(exp(2 log_std))), theta = (W, log_std); psi(s) = the observation
                   standardized with the mean and std of every observed state (fixed across batches,
                   constant entries dropped) and a constant 1
    line 1         theta_hat_t  <- exact maximum likelihood of D_t, (bc_l2 / 2) ||W||^2 prior
    line 2         J_hat_t      <- G(PO)MDP on D_t's own episodes, closed-form scores, at theta_hat_t
    lines 3-8      the tabular form's block-coordinate descent (the same code)
    reward         r(s, a, s') = w . phi(s, a, s'), no termination term; LOGEL trains no policy

Sources: the paper for the learner model, the features, Eq. 9 and 5, lr_min 0.01 and the 0.01 ridge
(added when the system is singular); the authors' MuJoCo code (gioramponi/LOGEL, mujoco/logel.py)
for G(PO)MDP with its optimal per-(t, parameter) baseline (eps 1e-4 in the denominator), gamma
0.99 (the task's), 300 alternations, and the observer rewarded with w . phi at the scale the descent
settles on (scale="logel"; "unit" gives ||w|| = 1). Choices that are ours, and why:
- The clone's parameterisation. LOGEL reads theta_{t+1} - theta_t as lr_t J_t w, so the clones must
  share coordinates in which nearby policies have nearby parameters. Neural clones fitted
  independently land in unrelated basins; the authors' code warm-starts one 64-64 tanh network from
  clone to clone (1000 Adam steps of 200 samples each, lr 1e-3) and takes J with respect to its
  hidden layers (4928 parameters from 40 windows of 50 steps), so its differences carry the
  optimiser's path as well as the learner's. A linear-Gaussian clone is the unique maximiser of its
  likelihood, a function of the batch alone, and is LOGEL's linear-policy setting. theta includes
  log_std (parameters="mean_std"): PPO moves it, and on the hand-solvable test (an exact gradient
  learner) only then is the |a|^2 weight identified (cosine to w* >= 0.997 over 5 seeds; W alone
  0.87-0.999, one seed -0.45). policy_features="fourier" (random Fourier features of the
  standardized observation) measured worse: cosine 0.86-0.92 on that test; on the quick datasets
  below (densities) HalfCheetah 0.98, -0.14, -0.21 and Reacher about 0. (A Fisher-whitened J, i.e.
  modelling PPO as natural gradient ascent in the clone's coordinates, was measured too and was not
  better: not offered.)
- clipped_actions="censored": the recorded actions are the executed ones, clipped to the bounds (a
  third of Hopper's early actions sit on one), so an action on a bound is a censored observation:
  its likelihood (and its score in J) is the Gaussian's mass beyond the bound; the clone is then a
  Tobit regression, fitted by expectation-maximisation (LfL's form treats clipping the same way).
  "density" reads them as densities, as the authors' code does (closed-form ridge regression).
- Episodes for G(PO)MDP: the batch cut at episode_starts (8 streams of 256 steps at quick). A
  stream's first pairs, in the middle of an episode when the stream began, count as t = 0; its last
  pairs end there: the padded steps after an end carry no score and no features, so a cut (whose
  time does not depend on the actions) gives the Jacobian of the objective truncated there, and a
  termination is an absorbing state with phi = 0 (Hopper's alive feature is 0 on the terminating
  step). The authors' code instead cuts 2000 consecutive pairs into windows of 50 steps.
- lr_init 0.5, the mean of the authors' code's unseeded U(0, 1) draws (a seeded fit is then a
  function of its data); the paper's lr_min 0.01 rather than the code's 0; tol 1e-4 relative
  (the code's loop, meant to stop at an absolute change of 1e-4, runs its 300 alternations).
- The observer (benchmark/observers.py) calls the reward on (obs, executed action, next obs) through
  RecoveredRewardVecEnv: there is no imitation reward net, so no reward_train / reward_test split;
  it gets w . phi itself. terminal_reward is 0: the alive feature is the reward's own say on ending
  an episode. PPO normalizes its advantages, so the scale hardly matters there.
- Budgets: every step is closed form (the censored clone a few hundred EM iterations), a quick fit
  takes well under a second on one core, so the profiles change nothing. Under the expert protocol
  (one batch) there is no update to invert: NotApplicable, the cell's n/a.
Measured on the quick learner datasets (PPO updates 2, 7, ..., 22; seeds 0, 1, 2), cosine of w to
the true reward's weights in these features (Hopper (1, 1, -0.001); HalfCheetah (1, -0.1); Reacher
the least-squares weights of its true reward on the last batch's pairs, R^2 0.95-0.96 with the
paper's RBF grid): HalfCheetah 0.98, 0.95, 0.99; Hopper 0.77, 0.23, -0.39; Reacher -0.11, -0.13, -0.18.
The fitted updates lr_t J_t w explain 1-4% of sum ||dtheta_t||^2 on Hopper and HalfCheetah and 40-51%
on Reacher (diagnostic "explained"; 94-98% on the
hand-solvable test): per-batch clones of 2048 correlated pairs differ by about as much between
halves of one batch as between batches five updates apart, the tabular form's problem again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np
from scipy.special import log_ndtr, log_softmax, softmax

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import Batch, ObservationDataset
from envs.tabular.gpomdp import gpomdp_gradient, sample_episodes, score_functions
from envs.tabular.mdp import TabularMDP, soft_optimal_policy
from methods.base import (
    FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, observer_transitions, transition_counts,
)

Array = np.ndarray


@dataclass(frozen=True)
class LOGELConfig:
    # line 1: behavioural cloning
    bc_l2: float = bounded(1.0, ge=0.0)  # Gaussian prior on the cloned logits (per window, not per sample)
    n_windows: int = bounded(3, ge=2)  # clone windows of (K+1) // n_windows consecutive batches (2: one update
    # between windows); K+1 or more: per batch (paper)
    # line 2: Jacobians of the feature expectations
    jacobian: str = one_of("exact", "exact", "gpomdp")  # tabular model, or G(PO)MDP on simulated episodes
    horizon: int | None = bounded(20, ge=1, none_ok=True)  # the learner's episode length (paper: 20); None = infinite
    gpomdp_episodes: int = bounded(50, ge=1)  # jacobian="gpomdp": episodes per Jacobian (paper: the learner's 50)
    # lines 3-8: block-coordinate descent
    lr_init: float = bounded(0.1, gt=0.0)  # initial learning rates (authors' code)
    lr_min: float = bounded(0.01, gt=0.0)  # learning rates are clipped below here (paper)
    ridge: float = bounded(0.0, ge=0.0)  # paper: 0.01, added to sum lr^2 J^T J when singular; 0: minimum-norm solve
    max_steps: int = bounded(50, ge=1)  # alternations (authors' code)
    tol: float = bounded(1e-2, ge=0.0)  # stop when ||w - w_prev|| <= tol ||w|| (authors' code: absolute 1e-2)
    # the reward handed to the observer
    scale: str = one_of("logel", "logel", "unit", "behaviour")
    demo_batches: int = bounded(1, ge=1)  # scale="behaviour": the batches the observer's policy must explain

    def __post_init__(self) -> None:
        check_config(self, "method")


def policy_logits(policies: Array) -> Array:
    """(..., S, A-1) logits theta of Boltzmann policies with the last action's logit fixed at 0."""
    log_p = np.log(np.maximum(policies, 1e-300))
    return log_p[..., :-1] - log_p[..., -1:]


def logits_policy(theta: Array) -> Array:
    """(..., S, A) softmax([theta, 0])."""
    return softmax(np.concatenate([theta, np.zeros((*theta.shape[:-1], 1))], axis=-1), axis=-1)


def clone_logits(counts_sa: Array, l2: float, iterations: int = 50) -> Array:
    """Line 1: (S, A-1) argmax_theta sum_{s,a} n(s,a) ln pi_theta(a|s) - (l2/2) ||theta||^2.

    The objective separates over states and is concave: damped Newton, every state at once, with a
    step-halving line search per state; stops at the optimum to machine precision."""
    n_s, n_a = counts_sa.shape
    state_counts = counts_sa.sum(axis=1)

    def objective(theta: Array) -> Array:  # (S,) negative log posterior per state
        log_pi = log_softmax(np.concatenate([theta, np.zeros((n_s, 1))], axis=1), axis=1)
        return -(counts_sa * log_pi).sum(axis=1) + 0.5 * l2 * (theta**2).sum(axis=1)

    theta = np.zeros((n_s, n_a - 1))
    value = objective(theta)
    for _ in range(iterations):
        pi = logits_policy(theta)[:, :-1]
        grad = -(counts_sa[:, :-1] - state_counts[:, None] * pi) + l2 * theta
        hess = state_counts[:, None, None] * (np.einsum("sj,jk->sjk", pi, np.eye(n_a - 1))
                                              - pi[:, :, None] * pi[:, None, :]) + (l2 + 1e-12) * np.eye(n_a - 1)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        if np.abs(step).max() < 1e-12:
            break
        size = np.ones(n_s)
        for _ in range(30):  # halve the step where it does not decrease that state's objective
            candidate = theta - size[:, None] * step
            new_value = objective(candidate)
            worse = new_value > value + 1e-12
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        theta, value = candidate, new_value
    return theta


def window_counts(counts_sa: Array, n_windows: int) -> tuple[Array, int]:
    """Pool the (K+1, S, A) batch counts into n_windows consecutive windows of b = (K+1) // n_windows
    batches (the earliest (K+1) mod n_windows batches are dropped): (n_windows, S, A), b."""
    n_windows = min(n_windows, len(counts_sa))
    b = len(counts_sa) // n_windows
    kept = counts_sa[len(counts_sa) - n_windows * b:]
    return kept.reshape(n_windows, b, *counts_sa.shape[1:]).sum(axis=1), b


def exact_jacobian(transitions: Array, start: Array, features: Array, policy: Array, gamma: float,
                   horizon: int | None) -> Array:
    """Line 2, exact: (S*(A-1), F) d psi / d theta for psi = E[sum_{t<T} gamma^t phi(s_t, a_t)] from
    `start`, by the policy-gradient theorem with the feature Q-functions Q^f (T = horizon or infinite)."""
    n_s, n_a, n_f = features.shape
    P_pi = np.einsum("sa,sat->st", policy, transitions)
    feat_pi = np.einsum("sa,saf->sf", policy, features)

    def local(q: Array, v: Array) -> Array:  # (S, A-1, F): sum_a d pi(a|s)/d theta_sj Q(s,a) = pi_j (Q_j - V)
        return policy[:, :-1, None] * (q[:, :-1] - v[:, None])

    if horizon is None:
        v = np.linalg.solve(np.eye(n_s) - gamma * P_pi, feat_pi)  # (S, F)
        q = features + gamma * transitions @ v
        occupancy = np.linalg.solve((np.eye(n_s) - gamma * P_pi).T, start)  # sum_t gamma^t P(s_t = s)
        return (occupancy[:, None, None] * local(q, v)).reshape(n_s * (n_a - 1), n_f)
    # Finite horizon: Q_h / V_h are the h-steps-to-go feature values; step t has T - t steps to go.
    values = [np.zeros((n_s, n_f))]
    locals_ = []
    for _ in range(horizon):
        q = features + gamma * transitions @ values[-1]
        v = np.einsum("sa,saf->sf", policy, q)
        locals_.append(local(q, v))
        values.append(v)
    jac = np.zeros((n_s, n_a - 1, n_f))
    dist = start.copy()
    for t in range(horizon):
        jac += gamma**t * dist[:, None, None] * locals_[horizon - 1 - t]
        dist = dist @ P_pi
    return jac.reshape(n_s * (n_a - 1), n_f)


def sampled_jacobian(transitions: Array, start: Array, features: Array, policy: Array, gamma: float,
                     horizon: int, episodes: int, rng: np.random.Generator) -> Array:
    """Line 2 as in the paper: G(PO)MDP on `episodes` episodes simulated from the model (S*(A-1), F)."""
    model = TabularMDP(transitions, np.zeros(transitions.shape[:2]), gamma, start)
    states, actions = sample_episodes(model, policy, episodes, horizon, rng)
    return gpomdp_gradient(score_functions(policy, states, actions), features[states, actions], gamma)


def block_coordinate_descent(deltas: Array, jacobians: Array,
                             cfg: LOGELConfig | LOGELContinuousConfig) -> tuple[Array, Array, int]:
    """Lines 3-8, both forms: alternate the closed-form w (Eq. 9) and learning rates (Eq. 5).
    deltas: (K, P); jacobians: (K, P, F) -> (w, lrs, alternations)."""
    n_f = jacobians.shape[2]
    gram = np.einsum("kpf,kpg->kfg", jacobians, jacobians)  # J_t^T J_t
    cross = np.einsum("kpf,kp->kf", jacobians, deltas)  # J_t^T dtheta_t

    def solve_w(lrs: Array) -> Array:
        a, b = np.einsum("k,kfg->fg", lrs**2, gram), lrs @ cross
        if cfg.ridge > 0 and np.linalg.matrix_rank(a) < n_f:  # the paper's fix for a singular system
            return np.linalg.solve(a + cfg.ridge * np.eye(n_f), b)
        # Minimum-norm solution: leaves the unidentified directions (J_t v = 0 for every t) at 0
        # without shrinking the identified ones (the limit ridge -> 0 of the paper's fix).
        return np.linalg.lstsq(a, b, rcond=1e-10)[0]

    lrs = np.full(len(deltas), cfg.lr_init)
    w = solve_w(lrs)
    for step in range(1, cfg.max_steps + 1):
        jw = np.einsum("kpf,f->kp", jacobians, w)
        lrs = np.maximum(np.einsum("kp,kp->k", deltas, jw) / np.maximum((jw**2).sum(axis=1), 1e-300), cfg.lr_min)
        w_prev, w = w, solve_w(lrs)
        if np.linalg.norm(w - w_prev) <= cfg.tol * max(np.linalg.norm(w), 1e-12):
            return w, lrs, step
    return w, lrs, cfg.max_steps


def behaviour_scale(reward: Array, mdp: TabularMDP, alpha: float, counts_sa: Array) -> float:
    """c > 0 maximising sum n(s,a) ln pi*_{c r}(a|s), pi* the soft-optimal policy at alpha."""
    from scipy.optimize import minimize_scalar

    def nll(log_c: float) -> float:
        policy = soft_optimal_policy(mdp, alpha, np.exp(log_c) * reward, tol=1e-10)
        return -float((counts_sa * np.log(np.maximum(policy, 1e-300))).sum())

    return float(np.exp(minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded",
                                        options={"xatol": 1e-4}).x))


# ----- the continuous (MuJoCo) form ------------------------------------------------------------------

@dataclass(frozen=True)
class LOGELContinuousConfig:
    """LOGEL's continuous form; see the module docstring for the sources. Every step has a closed
    form (a fit takes well under a second), so the profiles change nothing."""

    name: ClassVar[str] = "logel"
    profiles: ClassVar[dict[str, dict]] = {"smoke": {}, "quick": {}}
    # line 1: behavioural cloning of a linear-Gaussian policy N(W^T psi(s), diag(exp(2 log_std)))
    policy_features: str = one_of("linear", "linear", "fourier")  # psi: standardized observations, or random Fourier
    fourier_features: int = bounded(64, ge=1)  # policy_features="fourier": how many
    fourier_bandwidth: float = bounded(1.0, gt=0.0)  # policy_features="fourier": length scale in standardized units
    bc_l2: float = bounded(1.0, ge=0.0)  # Gaussian prior on W (per batch, not per sample; the bias is free)
    parameters: str = one_of("mean_std", "mean_std", "mean")  # theta = (W, log_std), or W alone
    # actions on the bounds were clipped when executed: censored observations, or read as densities
    clipped_actions: str = one_of("censored", "censored", "density")
    # line 2: G(PO)MDP Jacobians on each batch's observed episodes
    baseline_eps: float = bounded(1e-4, gt=0.0)  # added to the baseline's denominator (authors' MuJoCo code)
    # lines 3-8: block-coordinate descent
    lr_init: float = bounded(0.5, gt=0.0)  # authors' MuJoCo code: U(0, 1) draws (unseeded); their mean
    lr_min: float = bounded(0.01, gt=0.0)  # paper (the MuJoCo code clips at 0)
    ridge: float = bounded(0.01, ge=0.0)  # paper, when sum lr^2 J^T J is singular; 0: minimum-norm solve
    max_steps: int = bounded(300, ge=1)  # authors' MuJoCo code
    tol: float = bounded(1e-4, ge=0.0)  # relative change of w that stops the alternation (code: absolute 1e-4)
    scale: str = one_of("logel", "logel", "unit")

    def __post_init__(self) -> None:
        check_config(self, "method")


class StateFeatures:
    """psi(s), fixed from every observed state: the observation standardized (its constant entries
    dropped) or random Fourier features of it, and a constant 1 (the mean's bias)."""

    def __init__(self, observations: Array, cfg: LOGELContinuousConfig, rng: np.random.Generator) -> None:
        observations = np.asarray(observations, dtype=float)
        std = observations.std(axis=0)
        self.keep = std > 1e-8 * np.maximum(np.abs(observations).max(axis=0), 1.0)
        self.mean, self.std = observations.mean(axis=0)[self.keep], std[self.keep]
        self.fourier = None
        if cfg.policy_features == "fourier":
            n_in = int(self.keep.sum())
            self.fourier = (rng.normal(size=(n_in, cfg.fourier_features)) / cfg.fourier_bandwidth,
                            rng.uniform(0.0, 2 * np.pi, size=cfg.fourier_features))

    def __call__(self, observations: Array) -> Array:
        z = (np.asarray(observations, dtype=float)[:, self.keep] - self.mean) / self.std
        if self.fourier is not None:
            omega, phase = self.fourier
            z = np.sqrt(2.0 / len(phase)) * np.cos(z @ omega + phase)
        return np.concatenate([z, np.ones((len(z), 1))], axis=1)


def _mills(x: Array) -> Array:
    """phi(x) / Phi(x), the inverse Mills ratio, stable for large |x|."""
    return np.exp(-0.5 * x**2 - 0.5 * np.log(2 * np.pi) - log_ndtr(x))


class LinearGaussian:
    """pi_theta(a|s) = N(W^T psi(s), diag(exp(2 log_std))), theta = (W, log_std) or W alone.

    bounds (low, high): actions on a bound were clipped when executed, so they are censored
    observations: their likelihood is the Gaussian's mass beyond the bound (LfL's form does the same)."""

    def __init__(self, weights: Array, log_std: Array, with_std: bool,
                 bounds: tuple[Array, Array] | None) -> None:
        self.weights, self.log_std, self.with_std, self.bounds = weights, log_std, with_std, bounds

    @property
    def theta(self) -> Array:
        return np.concatenate([self.weights.ravel(), self.log_std]) if self.with_std else self.weights.ravel()

    @classmethod
    def clone(cls, psi: Array, actions: Array, cfg: LOGELContinuousConfig, bounds: tuple[Array, Array] | None,
              iterations: int = 500) -> "LinearGaussian":
        """Line 1: argmax sum_t ln pi(a_t|s_t) - (bc_l2 / 2) ||W||^2. Densities only: ridge regression
        and the residuals' standard deviation. Censored: expectation-maximisation (Tobit regression,
        every action dimension at once), from that start, until W stops moving."""
        penalty = cfg.bc_l2 * np.eye(psi.shape[1])
        penalty[-1, -1] = 0.0
        solve = np.linalg.inv(psi.T @ psi + penalty) @ psi.T
        weights = solve @ actions
        log_std = 0.5 * np.log(np.maximum(((actions - psi @ weights) ** 2).mean(axis=0), 1e-12))
        censored = None if bounds is None else (actions >= bounds[1], actions <= bounds[0])
        if censored is not None and (censored[0] | censored[1]).any():
            for _ in range(iterations):
                mean, std = psi @ weights, np.exp(log_std)
                above, below = (mean - bounds[1]) / std, (bounds[0] - mean) / std
                m_above, m_below = _mills(above), _mills(below)
                # E[a* | a* >= high] and E[a* | a* <= low] of the unclipped action, and their variances
                expected = np.where(censored[0], mean + std * m_above,
                                    np.where(censored[1], mean - std * m_below, actions))
                variance = np.where(censored[0], std**2 * (1 - m_above * (m_above + above)),
                                    np.where(censored[1], std**2 * (1 - m_below * (m_below + below)), 0.0))
                new = solve @ expected
                log_std = 0.5 * np.log(np.maximum((((expected - psi @ new) ** 2) + variance).mean(axis=0), 1e-12))
                moved = np.abs(new - weights).max()
                weights = new
                if moved < 1e-9:
                    break
        return cls(weights, log_std, cfg.parameters == "mean_std", bounds)

    def scores(self, psi: Array, actions: Array) -> Array:
        """(N, P) grad_theta ln pi_theta(a_t|s_t) in closed form (censored pairs: of the tail's log-mass)."""
        mean, std = psi @ self.weights, np.exp(self.log_std)
        z = (actions - mean) / std
        d_mean, d_log_std = z / std, z**2 - 1  # d ln pi / d mean, d ln pi / d log_std
        if self.bounds is not None:  # ln Phi(above) at the upper bound, ln Phi(below) at the lower one
            low, high = self.bounds
            above, below = (mean - high) / std, (low - mean) / std
            m_above, m_below = _mills(above), _mills(below)
            upper, lower = actions >= high, actions <= low
            d_mean = np.where(upper, m_above / std, np.where(lower, -m_below / std, d_mean))
            d_log_std = np.where(upper, -m_above * above, np.where(lower, -m_below * below, d_log_std))
        scores = (psi[:, :, None] * d_mean[:, None, :]).reshape(len(psi), -1)
        return np.concatenate([scores, d_log_std], axis=1) if self.with_std else scores


def padded_episodes(batch: Batch, *columns: Array) -> list[Array]:
    """Each (N, ...) column of a batch cut into its observed episodes (at episode_starts; a stream's
    first pairs count as an episode's start, its last pairs as an end) and zero-padded: (n, T_max, ...)."""
    starts = np.flatnonzero(batch.episode_starts)
    if len(starts) == 0 or starts[0] != 0:
        starts = np.concatenate([[0], starts])
    lengths = np.diff(np.append(starts, len(batch)))
    episode = np.repeat(np.arange(len(lengths)), lengths)
    step = np.arange(len(batch)) - np.repeat(starts, lengths)
    out = []
    for column in columns:
        padded = np.zeros((len(lengths), lengths.max(), *column.shape[1:]))
        padded[episode, step] = column
        out.append(padded)
    return out


class LinearFeatureReward:
    """r(s, a, s') = w . phi(s, a, s'), phi the task's reward features: numpy batches in, float32 out."""

    def __init__(self, features: Callable[[Array, Array, Array], Array], weights: Array) -> None:
        self.features, self.weights = features, np.asarray(weights, dtype=float)

    def __call__(self, obs: Array, actions: Array, next_obs: Array) -> Array:
        return (np.asarray(self.features(obs, actions, next_obs), dtype=float) @ self.weights).astype(np.float32)


class LOGEL(IRLMethod):
    """LOGEL: invert a gradient-ascent learner's parameter updates (Ramponi et al. 2020)."""

    name: ClassVar[str] = "logel"
    uses: ClassVar[str] = "sequence"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    observations: ClassVar[frozenset[str]] = frozenset({"trajectories", "policies"})
    Config: ClassVar[type] = LOGELConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": LOGELContinuousConfig}
    profiles: ClassVar[dict] = {"smoke": {"max_steps": 50}, "quick": {"max_steps": 50}, "paper": {"max_steps": 50}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        if task.track == "tabular":
            return self._fit_tabular(data, task, cfg, seed)
        return self._fit_continuous(data, task, cfg, seed)

    def _fit_tabular(self, data: ObservationDataset, task: TaskInfo, cfg: LOGELConfig, seed: int) -> FitResult:
        if task.features is None:
            raise NotApplicable("LOGEL needs the task's reward features")
        rng = np.random.default_rng(seed)
        n_s, n_a = task.n_states, task.n_actions
        features = np.asarray(task.features, dtype=float)
        counts = None
        if data.policies is not None:  # exact-policy protocol: the parameters are read off the policies
            if task.transitions is None:
                raise NotApplicable("the exact-policy protocol needs the dynamics (protocol.grant_dynamics = true)")
            thetas, transitions = policy_logits(np.asarray(data.policies)), task.transitions
            steps_per_window = 1
        else:
            counts = transition_counts(data, n_s, n_a)
            windows, steps_per_window = window_counts(counts.sum(axis=3), cfg.n_windows)
            thetas = np.stack([clone_logits(c, cfg.bc_l2) for c in windows])  # line 1
            transitions = observer_transitions(task, counts)
        if len(thetas) < 2:
            raise NotApplicable("LOGEL needs at least two observed policies (one update)")
        start = task.start if task.start is not None else self._empirical_start(data, n_s)
        diagnostics: dict = {"steps_per_window": steps_per_window, "n_updates": len(thetas) - 1}

        # Line 2: Jacobians at theta_0..theta_{K-1}; dtheta_t = theta_{t+1} - theta_t.
        policies = logits_policy(thetas)
        horizon = cfg.horizon
        if cfg.jacobian == "exact":
            jacobians = np.stack([exact_jacobian(transitions, start, features, p, task.gamma, horizon)
                                  for p in policies[:-1]])
        else:
            jacobians = np.stack([sampled_jacobian(transitions, start, features, p, task.gamma, horizon or 20,
                                                   cfg.gpomdp_episodes, rng) for p in policies[:-1]])
        # A window-to-window change spans steps_per_window learner updates: theta moves by about
        # steps_per_window * lr J w (J varies slowly along the path).
        jacobians = steps_per_window * jacobians
        deltas = (thetas[1:] - thetas[:-1]).reshape(len(thetas) - 1, -1)

        # Lines 3-8: reward weights and learning rates.
        w, lrs, steps = block_coordinate_descent(deltas, jacobians, cfg)
        native_norm = float(np.linalg.norm(w))
        if cfg.scale == "unit":
            w = w / max(native_norm, 1e-300)
        elif cfg.scale == "behaviour":
            model = TabularMDP(transitions, np.zeros((n_s, n_a)), task.gamma, start)
            if counts is not None:
                demos = counts[-cfg.demo_batches:].sum(axis=(0, 3))
            else:  # exact protocol: the last policy's own action distribution, weighted by its occupancy
                demos = data.policies[-1] * 1000.0
            w = w * behaviour_scale(features @ w, model, task.alpha, demos)
        reward = features @ w
        diagnostics |= {"alternations": steps, "native_norm": native_norm, "lr_mean": float(lrs.mean()),
                       "lr_clipped": int((lrs <= cfg.lr_min).sum())}
        diagnostics.update({f"w{i}": float(v) for i, v in enumerate(w) if len(w) <= 8})
        return FitResult(RecoveredReward(table=reward), diagnostics=diagnostics)

    def _fit_continuous(self, data: ObservationDataset, task: TaskInfo, cfg: LOGELContinuousConfig,
                        seed: int) -> FitResult:
        if data.n_policies < 2:
            raise NotApplicable("LOGEL needs at least two observed policies (one update)")
        if task.reward_features is None:
            raise NotApplicable("LOGEL needs the task's reward features")
        batches = data.batches
        space = task.action_space
        bounds = None if cfg.clipped_actions == "density" or space is None else \
            (np.asarray(space.low, dtype=float), np.asarray(space.high, dtype=float))
        psi_of = StateFeatures(np.concatenate([b.observations for b in batches]), cfg, np.random.default_rng(seed))
        psis = [psi_of(b.observations) for b in batches]
        actions = [np.asarray(b.actions, dtype=float) for b in batches]
        policies = [LinearGaussian.clone(psi, a, cfg, bounds) for psi, a in zip(psis, actions)]  # line 1

        # Line 2: J_t at theta_t, by G(PO)MDP on D_t's episodes (the learner's own batch).
        jacobians = []
        for policy, psi, a, batch in zip(policies[:-1], psis, actions, batches):
            features = np.asarray(task.reward_features(batch.observations, batch.actions, batch.next_observations),
                                  dtype=float)
            scores, signals = padded_episodes(batch, policy.scores(psi, a), features)
            jacobians.append(gpomdp_gradient(scores, signals, task.gamma, cfg.baseline_eps))
        jacobians = np.stack(jacobians)
        thetas = np.stack([p.theta for p in policies])
        deltas = thetas[1:] - thetas[:-1]

        # Lines 3-8: reward weights and learning rates.
        w, lrs, steps = block_coordinate_descent(deltas, jacobians, cfg)
        moved = np.einsum("k,kpf,f->kp", lrs, jacobians, w)
        native_norm = float(np.linalg.norm(w))
        if cfg.scale == "unit":
            w = w / max(native_norm, 1e-300)
        names = task.feature_names or tuple(f"f{i}" for i in range(len(w)))
        diagnostics: dict = {
            "n_updates": len(deltas), "n_parameters": thetas.shape[1],
            "alternations": steps, "native_norm": native_norm, "lr_mean": float(lrs.mean()),
            "lr_clipped": int((lrs <= cfg.lr_min).sum()),
            # the share of sum ||dtheta_t||^2 the fitted updates lr_t J_t w explain
            "explained": float(1 - ((deltas - moved) ** 2).sum() / max((deltas**2).sum(), 1e-300)),
            "log_std_first": float(policies[0].log_std.mean()), "log_std_last": float(policies[-1].log_std.mean())}
        diagnostics.update({f"w_{name}": float(v) for name, v in zip(names, w)})
        return FitResult(RecoveredReward(function=LinearFeatureReward(task.reward_features, w)), policy=None,
                         diagnostics=diagnostics)

    @staticmethod
    def _empirical_start(data: ObservationDataset, n_s: int) -> Array:
        firsts = np.concatenate([b.observations[b.episode_starts] for b in data.batches])
        start = np.bincount(firsts, minlength=n_s).astype(float)
        return start / start.sum() if start.sum() > 0 else np.full(n_s, 1.0 / n_s)
