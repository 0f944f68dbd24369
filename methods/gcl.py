"""Guided Cost Learning (Finn, Levine, Abbeel; ICML 2016): a tabular form and a MuJoCo form.

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

MuJoCo form (GCLContinuousConfig): the same two algorithms with a reward network and SB3 PPO as q.

    D_demo <- the last `demo_batches` batches cut into segments (below); pi_demo <- Gaussian clone of them
    q_1    <- SB3 PPO's Gaussian actor distilled from pi_demo (policy_init="demos"; "random": PPO's init)
    for iteration i = 1..total_timesteps / (n_envs x n_steps):            (Alg. 1)
        roll out q_i: n_envs x n_steps steps in the simulator; cut them into segments
        D_samp <- the segments of the last `history` iterations, each with its sampling policy q_c
        for k = 1..reward_steps:                                           (Alg. 2: cost update)
            D_d <- batch_size demo segments; D_s <- batch_size segments of D_samp, then D_s <- D_s + D_d
            ln q_c(tau) = sum_t [ln q_c(a_t | s_t) + h] for every q_c in D_samp and pi_demo (dynamics cancel;
                          censored at the action bounds; h: pi_demo's entropy per step, below)
            z_j <- 1 / sum_c w_c q_c(tau_j)    w_c: pi_demo's share of D_s, and each q_c's share of the rest
            L   <- -mean_{D_d} R(tau) / T_temp + ln mean_{D_s} z_j exp(R(tau_j) / T_temp) + l2 (1/2) mean r^2
            theta <- Adam step on L            (log-sum-exp throughout: mixture_log_density, sampled_log_partition)
        relabel q_i's rollout with r_theta - T_temp (ln q_i(a|s) + h); one PPO update q_i -> q_{i+1}  (Alg. 1)
    return r_theta, q

Sources: Algorithms 1 and 2 and the importance-sampled loss are the paper's (sec. 4). DI-engine's
guided-cost reward model (published_results.md sec. 7) gives the defaults of the cost update: 2048
samples a collect (n_envs 8 x n_steps 256), Adam lr 1e-3, batch 32, 20 reward updates a collect, and
a 128-128 network (ReLU there; tanh here, like methods.nets' networks). PPO is SB3's with the
learner's settings (envs.mujoco.ppo.PPOSettings: lr 3e-4, 10 epochs, clip 0.2, GAE 0.95, gamma the
task's) and 8 minibatches (the quick learner's). The budget default, 1,000,000 environment steps
(489 iterations), is ours (the paper gives none for these tasks); the quick profile runs 163,840 (80,
about 80 s a fit: the board's per-method budget). Measured at 65,536 steps (32 iterations) on Hopper's
quick learner batch (seed 0): a fit of 31 s on one core (about 0.9 s an iteration), the observer 0.85
normalized (the bc row: about 0.99), q's own score 206.5 against the learner's last 210.3.

Choices that are ours, and why:

* Cost: r_theta(s, a), a tanh MLP (hidden-hidden) on the standardized observation and executed
  (clipped) action, statistics fixed from the demo pairs (methods.nets.Standardizer). The paper's
  cost, ||A y(x) + b||^2 + w_u ||u||^2 on learned state features, is written for its reaching tasks; a
  general state-action network is DI-engine's and suits locomotion. R(tau) = sum_t r_theta(s_t, a_t),
  undiscounted, as in the tabular form. The observer gets r_theta itself, imitation's reward_test
  view (no normalization or shaping); q trains on r_theta with its entropy term (reward_train, below).
* Temperature: the likelihood is exp(R / T_temp). A MuJoCo task has no alpha (TaskInfo.alpha = 0),
  so `temperature` is a setting, default 1: r_theta is in nats, as AIRL's and GAIL's logits are.
  The observer's PPO normalizes advantages, so r's unit does not matter to it (its level does, below).
* Trajectories are segments: each episode (split at episode_starts, so a segment never crosses an
  episode or a stream) is cut into consecutive segments of `horizon` pairs. A shorter remainder is
  kept where its episode ended by termination (a falling Hopper's last steps) and dropped where a
  clock ended it (a time limit, the end of a batch or of a rollout): termination is part of the
  dynamics, so a segment of min(T, time to termination) steps is a proper trajectory of the model
  p(tau) ~ p_dyn(tau) exp(R(tau)) and its density ratio is still the policies'. This identifies the
  reward's level against the absorbing state's zero: were every segment T long, adding a constant
  to r would change nothing; with terminated segments shorter, the level is fitted so that the
  model ends episodes as often as the demonstrator did (its unit, below). RecoveredReward.
  terminal_reward is therefore 0, the same zero the observer's episode end has. (A terminated
  remainder near a stream's end is kept where a censored one is dropped: a small bias to short
  segments, for samples and demos alike.) Sample segments start wherever q's streams are (a
  simulator cannot be set to a demo state without reading its internals), so the first-state law
  of samples differs from the demos' (the tabular form's segment_start="task" bias); the learner's
  batches are 8 streams of 256 steps, as q's rollouts are at the defaults, so both start
  mid-episode alike.
* Densities are of the executed actions, censored: ln q_c(tau) = sum_t [ln q_c(a_t | s_t) + h], where
  ln q_c(a|s) is q_c's Gaussian density inside the action bounds and its tail's log-mass on a bound
  (SB3 samples before clipping; the simulator, the reward and the demonstrations see the clipped
  action). Demos and samples are then read alike. (Read instead as densities of the unclipped
  samples against the demos' clipped actions, which is all the demos record, the demo segments
  came out 33 nats per segment likelier than the samples under every q_c on Hopper's learner
  batch, a third of whose action entries lie on a bound.) The dynamics cancel between every
  component (they are the simulator's). Each pool policy q_c is a frozen copy of PPO's policy as it
  was when it sampled. The demos' density pi_demo (the paper's demo density estimate) is a
  Gaussian policy cloned on the demo pairs (methods.nets.fit_gaussian_policies: 64-64 tanh mean,
  state-independent std, censored likelihood, early stopping on held-out blocks).
  h = -mean ln pi_demo(a|s) over the demo pairs, pi_demo's entropy per step, is the densities' unit:
  it changes nothing between segments of one length, and between lengths it makes the model's
  per-step reward r - T_temp h. A soft-optimal agent of the model earns r - T_temp h +
  T_temp H(pi(.|s)) a step, about r for a demonstrator-like policy: q is trained on that soft
  reward (below); the observer, whose PPO has no entropy term, gets r. Without h, an action
  space's units would set the value of staying alive (a Lebesgue density's log-volume per step),
  and a segment's weight would vary with its length by e^(h T) (about e^185 at T = 50 on Hopper).
* Mixture weights are the shares of the minibatch's sources: pi_demo gets |D_d| / (|D_d| + |D_s|)
  and pool iteration c gets the rest times its share of D_samp's segments (D_s is drawn uniformly
  from D_samp, and iterations contribute different numbers of segments).
* The pool keeps the last `history` iterations (the paper keeps every sample; evaluating each new
  q on all of them and each old q on the new ones grows quadratically, and old samples weigh little).
* Policy update: one PPO update per iteration (the paper's guided policy search needs a dynamics
  model fitted per time step; PPO is the track's policy optimiser). Alg. 1 updates q on the current
  cost and on the paper's objective, the cost minus q's entropy (the best sampler is the model
  itself): q_i's rollout is relabelled with r_theta - T_temp (ln q_i(a|s) + h) at each executed pair
  (the entropy-regularised reward imitation's AIRL gives its generator; SB3's time-limit bootstrap
  terms kept), its advantages recomputed, and then PPO trains on it. Trained on r_theta alone, PPO
  narrows q onto what r_theta favours, where small, dense regions cost the importance-sampled ln Z
  little: measured on Hopper's learner batch at quick, q's segments ended up with 10 times the
  demos' mean return (14.7 against 1.5) and the observer scored 0.79. q starts from the
  demonstrations by default (Alg. 1 allows a random controller or one from demonstrations):
  distilled from pi_demo by minimising the Gaussians' KL(pi_demo || q) at the demo states, so that
  early samples are near the demos and the importance weights are not all from far-off behaviour.
  FitResult.policy is PPO's last q (an SB3 policy), which the pipeline scores.
* The paper's regularisers are omitted: mono assumes demonstrations that approach a goal
  monotonically (reaching, not locomotion), and lcr's weight is not given for tasks like these. The
  weak l2 penalty on the reward's values, as in the tabular form, keeps exp(R) finite.

The MuJoCo form's SB3/torch machinery (r_theta, the PPO loop ContinuousGCL) is in methods/gcl_continuous.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

import numpy as np
from scipy.special import logsumexp

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import Batch, ObservationDataset
from envs.tabular.mdp import TabularMDP, soft_policy_improvement, uniform_policy
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo

if TYPE_CHECKING:
    import torch
    from torch import Tensor

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
    import torch
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


# ----- the continuous (MuJoCo) form ----------------------------------------------------------------


@dataclass(frozen=True)
class GCLContinuousConfig:
    """GCL's MuJoCo form; see the module docstring for the sources of the defaults (the paper profile)."""

    name: ClassVar[str] = "gcl"
    profiles: ClassVar[dict[str, dict]] = {
        "smoke": {"total_timesteps": 256, "n_envs": 2, "n_steps": 64, "init_steps": 50, "density_steps": 50},
        "quick": {"total_timesteps": 163_840},  # 80 iterations, about 80 s a fit on one core
    }
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    horizon: int = bounded(50, ge=1)  # T: pairs a segment (a terminated remainder is shorter)
    temperature: float = bounded(1.0, gt=0.0)  # the likelihood is exp(R / temperature); no task alpha on MuJoCo
    # q's environment steps; an Alg. 1 iteration (rollout, cost update, PPO update) every n_envs x n_steps
    total_timesteps: int = bounded(1_000_000, ge=0)
    n_envs: int = bounded(8, ge=1)  # q's rollout each iteration: n_envs x n_steps (DI-engine: 2048 a collect)
    n_steps: int = bounded(256, ge=2)
    ppo_minibatches: int = bounded(8, ge=1)
    ppo_epochs: int = bounded(10, ge=1)
    ppo_lr: float = bounded(3e-4, gt=0.0)
    policy_init: str = one_of("demos", "demos", "random")  # q_1 distilled from the demo density, or PPO's init
    init_steps: int = bounded(1000, ge=0)  # full-batch Adam steps (lr 1e-3) of that distillation
    history: int = bounded(10, ge=1)  # D_samp keeps the segments of the last `history` iterations
    reward_steps: int = bounded(20, ge=0)  # Alg. 2 Adam steps per iteration (DI-engine: 20)
    batch_size: int = bounded(32, ge=0)  # demo and sample segments per minibatch (DI-engine: 32; 0: all)
    lr: float = bounded(1e-3, gt=0.0)  # Adam on r_theta (DI-engine: 1e-3)
    l2: float = bounded(1e-3, ge=0.0)  # weight of (1/2) mean r^2 over the minibatch's pairs
    hidden: int = bounded(128, ge=1)  # r_theta: two tanh layers of this width (DI-engine: 128-128)
    density_steps: int = bounded(1000, ge=0)  # the demo density's clone: at most this many Adam steps (lr 1e-3)

    def __post_init__(self) -> None:
        check_config(self, "method")


@dataclass(frozen=True)
class Segments:
    """N segments padded to T pairs: observations (N, T, obs_dim), actions (N, T, act_dim) (the
    actions whose density is read: a sample's as sampled before clipping, a demo's as executed),
    mask (N, T) 1 on real pairs."""

    obs: Tensor
    actions: Tensor
    mask: Tensor

    def __len__(self) -> int:
        return len(self.mask)

    def __getitem__(self, index) -> "Segments":
        return Segments(self.obs[index], self.actions[index], self.mask[index])

    @staticmethod
    def cat(parts: list["Segments"]) -> "Segments":
        import torch
        return Segments(*(torch.cat([getattr(p, name) for p in parts]) for name in ("obs", "actions", "mask")))


def segment_bounds(episode_starts: Array, terminals: Array, horizon: int) -> list[tuple[int, int]]:
    """[begin, end) of the segments of one stream of pairs: each episode (a stream's first pair
    starts one) cut into consecutive pieces of `horizon` pairs; a shorter last piece is kept only
    where its episode ended by termination (a clock-censored one is dropped)."""
    n = len(episode_starts)
    starts = np.asarray(episode_starts, dtype=bool).copy()
    if n:
        starts[0] = True
    begins = np.flatnonzero(starts)
    bounds = []
    for begin, end in zip(begins, np.append(begins[1:], n)):
        for s in range(begin, end, horizon):
            stop = min(s + horizon, end)
            if stop - s == horizon or terminals[stop - 1]:
                bounds.append((int(s), int(stop)))
    return bounds


def pack_segments(obs: Array, actions: Array, bounds: list[tuple[int, int]], horizon: int) -> Segments:
    """The pairs of each [begin, end) as one zero-padded row of T."""
    import torch
    n = len(bounds)
    out_obs = torch.zeros((n, horizon, obs.shape[-1]), dtype=torch.float32)
    out_act = torch.zeros((n, horizon, actions.shape[-1]), dtype=torch.float32)
    mask = torch.zeros((n, horizon), dtype=torch.float32)
    for i, (begin, end) in enumerate(bounds):
        out_obs[i, :end - begin] = torch.as_tensor(np.asarray(obs[begin:end], dtype=np.float32))
        out_act[i, :end - begin] = torch.as_tensor(np.asarray(actions[begin:end], dtype=np.float32))
        mask[i, :end - begin] = 1.0
    return Segments(out_obs, out_act, mask)


def batch_segments(batches: tuple[Batch, ...], horizon: int) -> Segments:
    """The demonstrations' segments: each batch's episodes cut separately (never across batches)."""
    parts = []
    for batch in batches:
        terminals = batch.terminals if batch.terminals is not None else np.zeros(len(batch), dtype=bool)
        bounds = segment_bounds(batch.episode_starts, terminals, horizon)
        parts.append(pack_segments(batch.observations, batch.actions, bounds, horizon))
    return Segments.cat(parts)


def mixture_weights(demo_share: float, counts: Array) -> Array:
    """(1 + C,) weights of the sampling mixture: the demo density's share, then each pool
    iteration's share of the rest in proportion to its number of segments."""
    counts = np.asarray(counts, dtype=float)
    return np.concatenate([[demo_share], (1.0 - demo_share) * counts / counts.sum()])


def mixture_log_density(log_densities: Tensor, weights: Array) -> Tensor:
    """(N,) ln sum_c w_c q_c(tau_j) from (N, C) ln q_c(tau_j) and (C,) weights (log-sum-exp; a
    zero weight drops its component). The importance weights are z_j = exp(-this)."""
    import torch
    log_w = torch.log(torch.as_tensor(np.asarray(weights, dtype=float), dtype=log_densities.dtype))
    return torch.logsumexp(log_densities + log_w, dim=1)


def sampled_log_partition(returns: Tensor, log_q_mix: Tensor, temperature: float) -> Tensor:
    """Importance-sampled ln Z = ln mean_j z_j exp(R(tau_j) / temperature), z_j = 1 / q_mix(tau_j)."""
    import torch
    return torch.logsumexp(returns / temperature - log_q_mix, dim=0) - math.log(len(returns))


def segment_loss(demo_returns: Tensor, background_returns: Tensor, log_q_mix: Tensor, temperature: float) -> Tensor:
    """Alg. 2's loss: -mean_demo R / temperature + importance-sampled ln Z on the background set."""
    return -demo_returns.mean() / temperature + sampled_log_partition(background_returns, log_q_mix, temperature)


def segment_log_density(log_prob: Callable[[Tensor, Tensor], Tensor], segments: Segments,
                        per_step: float = 0.0) -> Tensor:
    """(N,) float64 sum_t [ln pi(a_t | s_t) + per_step] of each segment under a policy's (M, obs),
    (M, act) -> (M,) log-density; no dynamics term (the components share the simulator's, so it
    cancels). per_step: the unit of the per-step densities (GCL passes the demo density's entropy)."""
    import torch
    n, t = segments.mask.shape
    with torch.no_grad():
        values = log_prob(segments.obs.reshape(n * t, -1), segments.actions.reshape(n * t, -1)).reshape(n, t)
    return ((values.double() + per_step) * segments.mask).sum(dim=1)


def censored_log_prob(mean: Tensor, log_std: Tensor, actions: Tensor, low: Tensor, high: Tensor) -> Tensor:
    """(M,) ln of a diagonal Gaussian's likelihood of executed actions (M, act_dim), clipped to
    [low, high]: its density inside the bounds, its tail's mass on a bound (summed over dimensions)."""
    import torch
    z = (actions - mean) / log_std.exp()
    density = -0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)
    upper, lower = actions >= high, actions <= low
    tail = torch.special.log_ndtr(torch.where(upper, -z, z))
    return torch.where(upper | lower, tail, density).sum(dim=-1)


def fit_continuous(cfg: GCLContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> FitResult:
    from methods.gcl_continuous import ContinuousGCL
    return ContinuousGCL(cfg, data, task, seed).fit()


class GuidedCostLearning(IRLMethod):
    """Guided Cost Learning: importance-sampled MaxEnt IRL, its sampler trained alongside (Finn et al. 2016)."""

    name: ClassVar[str] = "gcl"
    uses: ClassVar[str] = "demonstrations"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    # the tabular form's policy step is soft policy iteration under the true dynamics; the MuJoCo form
    # rolls out q in a simulator and plans nothing
    needs_model: ClassVar[bool] = True
    needs_by_track: ClassVar[dict[str, tuple[bool, bool]]] = {"mujoco": (False, True)}
    Config: ClassVar[type] = GCLConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": GCLContinuousConfig}
    profiles: ClassVar[dict] = {"smoke": {"iterations": 30}, "quick": {"iterations": 100},
                                "paper": {"iterations": 300}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        import torch

        if task.track != "tabular":
            return fit_continuous(self.config_for(task), data, task, seed)
        cfg: GCLConfig = self.config_for(task)
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
