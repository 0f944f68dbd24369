"""Learning from a Learner (Jacq, Geist, Paiva, Pietquin, ICML 2019).

The learner is modelled as performing soft policy improvements (SPI) with entropy weight
alpha_model. Theorem 2 inverts one improvement pi_k -> pi_{k+1} into a shaped reward

    r_k(s, a) = alpha ln pi_{k+1}(a|s) + alpha gamma E_{s'|s,a}[ KL(pi_k(.|s') || pi_{k+1}(.|s')) ]

and Algorithm 1 fits one reward r_phi consistent with every improvement, each allowed its own
shaping f_psi_k(s) - gamma f_psi_k(s') (Eq. 5):

    Alg. 1, lines 1-3    pi_theta_k   <- max likelihood of D_k with an entropy regulariser
    Alg. 1, lines 4-6    divergences  <- KL(pi_k || pi_{k+1}) per state
    Alg. 1, lines 7-9    r_phi        <- ln pi_phi fitted to D_K (reward initialisation)
    Alg. 1, lines 10-13  r_phi, psi_k <- minimise the consistency loss, Eq. (5)

`LfL.fit` is that skeleton; a form gives each line its parameterization. TabularForm: tables,
exact KL from the estimated policies and dynamics (sec. 6.3), no initialisation. NetworkForm
(continuous tasks, sec. 6.2-6.3): Gaussian policies, a KL regressor rho_k(s) and a shaping
network f_psi_k(s), each one hidden layer of 128 tanh units shared across k with a head per k,
and r_phi(s, a) = ln pi_phi(a|s), a Gaussian policy network cloned on the last batch.

Tabular defaults. With the exact policies (the protocol of Table 1) lines 1-3 are skipped.
alpha_model 0.7, 10 full-batch policy steps, 200 regression steps and the entropy
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

Network defaults (LfLNetworkConfig) are the paper's sec. 6.3: Adam lr 1e-3 on full batches, 1000
policy, 100 KL, 3000 initialisation and 1000 consistency steps, 128 shared tanh units, alpha_model
0.7; the entropy weight 0.01 is the authors' MuJoCo code's. Eq. (5) sums improvement k's
residuals over D_k, as written. Three defaults are ours, each with the paper's behaviour a setting
away. early_stopping = "holdout": the policy and initialisation regressions keep their best
likelihood on held-out blocks of the batch (measured on Hopper's 2048-pair batches: run for the
full 1000 steps, a 64-64 network memorises its batch, fits log-stds near -0.5 to a learner whose
are near 0, and puts ln pi_k+1 at D_k's pairs 7 nats below ln pi_k, a KL of 2.5 to 4.4 nats
between policies five PPO updates apart; held out, ~0.1). clipped_actions = "censored": the
recorded actions are the executed ones, clipped to the bounds (a third of Hopper's early actions
are on a bound). termination = "pessimistic", below. Termination (sec. 6.2's Hopper failure): the paper evaluates
f_psi_k and rho_k at the terminal observation as if the episode went on (termination = "none").
termination = "absorbing" treats a transition that ends its episode by termination (not a time
limit) as entering an absorbing state (Kostrikov et al. 2018's DAC treatment) in which the
policies agree (no KL) and whose shaping potential f_abs is one learned scalar shared by every k
(an absorbing state's reward r_abs gives r_abs + f_abs - gamma f_abs = 0 for every k). Its value,
gamma V_abs = -gamma f_abs, is the recovered reward's explicit termination term: the observer
gets it on each terminating transition, so the reward says whether ending an episode is good.
Theorem 2 gives the absorbing state (one action, ln pi = 0) the highest target there is, while a
Gaussian's log-density on the observed pairs is mostly negative, so the learned term still makes
ending an episode attractive. termination = "pessimistic" values the absorbing state like the
tabular form's unseen pairs: worth the lowest reward of any observed pair, every step, forever
(the term gamma min r / (1 - gamma)); the optimal policies are those of the reward shifted to be
non-negative with a neutral end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from methods.base import (FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, observer_transitions,
                          transition_counts)

if TYPE_CHECKING:
    import torch

    from methods.nets import GaussianPolicies, MultiHeadNet

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


def kl_divergences(policies: Array) -> Array:
    """(K, S) KL(pi_k(.|s) || pi_{k+1}(.|s)) of (K+1, S, A) policies."""
    log_p = np.log(policies)
    return (policies[:-1] * (log_p[:-1] - log_p[1:])).sum(axis=2)


def inverted_improvement_rewards(policies: Array, transitions: Array, gamma: float, alpha: float,
                                 kl: Array | None = None) -> Array:
    """(K, S, A) Theorem 2 targets, one per consecutive pair of (K+1, S, A) policies."""
    kl = kl_divergences(policies) if kl is None else kl
    return alpha * np.log(policies[1:]) + alpha * gamma * np.einsum("sat,kt->ksa", transitions, kl)


def fit_policies(counts_sa: Array, *, steps: int, lr: float, entropy_coef: float) -> Array:
    """Alg. 1 lines 1-3: tabular maximum likelihood of each batch, with an entropy bonus per
    sample (keeps unseen actions possible). counts_sa: (K+1, S, A) -> policies (K+1, S, A)."""
    import torch

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
        import torch

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
    from scipy import sparse
    from scipy.sparse.linalg import lsqr

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




@dataclass(frozen=True)
class LfLNetworkConfig:
    """LfL's continuous form (sec. 6.2-6.3); see the module docstring for the sources."""

    name: ClassVar[str] = "lfl"
    profiles: ClassVar[dict[str, dict]] = {
        "smoke": {"policy_steps": 50, "kl_steps": 20, "reward_init_steps": 50, "reward_steps": 50}}
    alpha_model: float = bounded(0.7, gt=0.0)
    lr: float = bounded(1e-3, gt=0.0)  # Adam, every regression
    # Alg. 1 lines 1-3: Gaussian policies (PPO's actor: 64-64 tanh mean, state-independent log-std)
    policy_steps: int = bounded(1000, ge=0)
    policy_hidden: int = bounded(64, ge=1)
    entropy_coef: float = bounded(0.01, ge=0.0)
    # the policy and initialisation regressions end at their best likelihood on held-out blocks of
    # each batch (a fifth of it; the rest trains); "none": the paper's fixed step counts
    early_stopping: str = one_of("holdout", "holdout", "none")
    # Alg. 1 lines 4-6: rho_k(s) regressed on ln pi_k(a|s) - ln pi_k+1(a|s) at D_k's pairs (sampled),
    # or on the Gaussians' closed-form KL at D_k's states (analytic)
    kl_steps: int = bounded(100, ge=0)
    kl_target: str = one_of("sampled", "sampled", "analytic")
    hidden: int = bounded(128, ge=1)  # the latent layer rho_k and psi_k share across k
    # Alg. 1 lines 7-9 and 10-13
    reward_init_steps: int = bounded(3000, ge=0)
    reward_steps: int = bounded(1000, ge=0)
    termination: str = one_of("pessimistic", "none", "absorbing", "pessimistic")  # "none": the paper's
    # actions on the action space's bounds were clipped when executed: censored (their likelihood is
    # the Gaussian's mass beyond the bound) or read as densities, as the paper's code does
    clipped_actions: str = one_of("censored", "censored", "density")

    def __post_init__(self) -> None:
        check_config(self, "method")


class TabularForm:
    """Algorithm 1 on tables (sec. 6.3); see the module docstring."""

    def __init__(self, cfg: LfLConfig, data: ObservationDataset, task: TaskInfo) -> None:
        self.cfg, self.data, self.gamma, self.counts = cfg, data, task.gamma, None
        if data.policies is not None:  # exact protocol (Table 1): policies given, and so must be P
            if task.transitions is None:
                raise NotApplicable("the exact-policy protocol needs the dynamics (protocol.grant_dynamics = true)")
            self.transitions = task.transitions
        else:
            self.counts = transition_counts(data, task.n_states, task.n_actions)
            # dynamics for the KL and shaping terms: given by the protocol, or counted (sec. 6.3)
            self.transitions = observer_transitions(task, self.counts)

    def policies(self) -> Array:
        cfg = self.cfg
        if self.counts is None:
            return self.data.policies
        return fit_policies(self.counts.sum(axis=3), steps=cfg.policy_steps, lr=cfg.policy_lr,
                            entropy_coef=cfg.entropy_coef)

    def divergences(self, policies: Array) -> Array:
        return kl_divergences(policies)  # exact, from the estimated policies

    def initial_reward(self) -> Array | None:
        cfg = self.cfg
        if cfg.reward_init_steps == 0 or self.counts is None or cfg.reward_form != "state_action":
            return None
        last = fit_policies(self.counts[-1:].sum(axis=3), steps=cfg.reward_init_steps, lr=cfg.policy_lr,
                            entropy_coef=cfg.entropy_coef)[0]
        return cfg.alpha_model * np.log(last)

    def consistent_reward(self, init: Array | None, policies: Array, divergences: Array) -> FitResult:
        cfg = self.cfg
        targets = inverted_improvement_rewards(policies, self.transitions, self.gamma, cfg.alpha_model, divergences)
        weights = regression_weights(cfg, self.counts, targets.shape)
        reward, loss = fit_consistent_reward(
            targets, self.transitions, self.gamma, weights, state_only=cfg.reward_form == "state_only",
            init=init, solver=cfg.solver, steps=cfg.reward_steps, lr=cfg.reward_lr)
        constrained = np.broadcast_to(weights.sum(axis=0) > 0, reward.shape)
        if cfg.reward_form == "state_only":
            constrained = np.broadcast_to(constrained.any(axis=1, keepdims=True), reward.shape)
        if cfg.unseen == "pessimistic" and constrained.any():
            reward = np.where(constrained, reward, reward[constrained].min())
        return FitResult(RecoveredReward(table=reward), diagnostics={
            "consistency_loss": loss, "unconstrained_pairs": int((~constrained).sum())})


class NetworkForm:
    """Algorithm 1 with networks (sec. 6.2-6.3), full-batch Adam on every observed pair; see the
    module docstring. Batches are padded to one tensor (K+1, N, ...) with a mask."""

    def __init__(self, cfg: LfLNetworkConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> None:
        import torch

        from methods.nets import holdout_blocks, stacked

        self.cfg, self.gamma = cfg, task.gamma
        self.generator = torch.Generator().manual_seed(seed)
        space = task.action_space
        self.bounds = (space.low, space.high) if cfg.clipped_actions == "censored" and space is not None else None
        batches = data.batches
        self.obs, self.mask = stacked([b.observations for b in batches])
        self.actions, _ = stacked([b.actions for b in batches])
        self.next_obs, _ = stacked([b.next_observations for b in batches])
        ends = [b.terminals if b.terminals is not None and cfg.termination != "none" else np.zeros(len(b))
                for b in batches]
        self.terminal, _ = stacked([np.asarray(e, dtype=np.float32) for e in ends])
        self.holdout = holdout_blocks(self.mask) if cfg.early_stopping == "holdout" else None

    def policies(self) -> GaussianPolicies:
        from methods.nets import fit_gaussian_policies

        cfg = self.cfg
        return fit_gaussian_policies(self.obs, self.actions, self.mask, steps=cfg.policy_steps, lr=cfg.lr,
                                     entropy_coef=cfg.entropy_coef, generator=self.generator, hidden=cfg.policy_hidden,
                                     bounds=self.bounds, holdout=self.holdout)

    def _log_pi_next(self, policies: GaussianPolicies) -> torch.Tensor:
        """(K, N) ln pi_{k+1}(a|s) at D_k's pairs."""
        return policies.log_prob(_previous(self.obs), _previous(self.actions))[1:]

    def divergences(self, policies: GaussianPolicies) -> MultiHeadNet:
        """rho_k(s) ~ KL(pi_k(.|s) || pi_{k+1}(.|s)), regressed at D_k's states, k < K."""
        import torch

        from methods.nets import MultiHeadNet, gaussian_kl, masked_mean, minimise

        cfg = self.cfg
        obs, mask = self.obs[:-1], self.mask[:-1]
        with torch.no_grad():
            if cfg.kl_target == "sampled":  # E_{a ~ pi_k}[ln pi_k - ln pi_k+1] from D_k's own actions
                target = policies.log_prob(self.obs, self.actions)[:-1] - self._log_pi_next(policies)
            else:  # the Gaussians' KL at D_k's states
                target = gaussian_kl(policies.mu(self.obs)[:-1], policies.log_std[:-1],
                                     policies.mu(_previous(self.obs))[1:], policies.log_std[1:])
        rho = MultiHeadNet(self.obs[self.mask > 0], cfg.hidden, len(obs), self.generator)
        loss = lambda: masked_mean((self._heads(rho, obs) - target).pow(2), mask).sum()  # noqa: E731
        minimise(loss, rho.parameters(), steps=cfg.kl_steps, lr=cfg.lr)
        return rho.requires_grad_(False)

    @staticmethod
    def _heads(net: MultiHeadNet, obs: torch.Tensor) -> torch.Tensor:
        """(K, N) head k of `net` at row k's observations."""
        k, n = obs.shape[:2]
        return _own_heads(net(obs.reshape(k * n, -1)), k, n)

    def initial_reward(self) -> GaussianPolicies:
        """r_phi = ln pi_phi, pi_phi cloned on D_K by maximum likelihood (sec. 5.4)."""
        from methods.nets import fit_gaussian_policies

        cfg = self.cfg
        return fit_gaussian_policies(self.obs[-1:], self.actions[-1:], self.mask[-1:], steps=cfg.reward_init_steps,
                                     lr=cfg.lr, entropy_coef=0.0, generator=self.generator, hidden=cfg.policy_hidden,
                                     bounds=self.bounds, holdout=None if self.holdout is None else self.holdout[-1:])

    def consistent_reward(self, reward: GaussianPolicies, policies: GaussianPolicies, rho: MultiHeadNet) -> FitResult:
        """Eq. (5): (r_phi(s, a) + f_k(s) - gamma f_k(s') - alpha (ln pi_k+1(a|s) + gamma rho_k(s')))^2
        over D_k, k < K; a terminating transition's s' is the absorbing state (termination "absorbing" or
        "pessimistic": no KL there, and one shaping value f_abs for every k)."""
        import torch

        from methods.nets import MultiHeadNet, masked_mean, minimise

        cfg, gamma = self.cfg, self.gamma
        obs, actions, next_obs, mask, ends = (x[:-1] for x in (self.obs, self.actions, self.next_obs, self.mask,
                                                               self.terminal))
        with torch.no_grad():
            target = cfg.alpha_model * (self._log_pi_next(policies) + gamma * (1 - ends) * self._heads(rho, next_obs))
        shaping = MultiHeadNet(self.obs[self.mask > 0], cfg.hidden, len(obs), self.generator)
        absorbing = torch.zeros((), requires_grad=True)  # f_abs, shared by every k
        reward.requires_grad_(True)
        flat = lambda x: x.reshape(1, -1, x.shape[-1])  # noqa: E731  (r_phi is one policy: every pair in one row)
        # f_k(s') is f_k at the next pair's state wherever the data say s' is that state (within an
        # episode): evaluated once; the other next states (episode ends, a batch's last pair) apart
        apart = torch.ones(mask.shape, dtype=torch.bool)
        apart[:, :-1] = ~(next_obs[:, :-1] == obs[:, 1:]).all(dim=-1)
        rows, cols = apart.nonzero(as_tuple=True)
        k, n = mask.shape
        states = torch.cat([obs.reshape(k * n, -1), next_obs[rows, cols]])

        def loss() -> torch.Tensor:
            r = reward.log_prob(flat(obs), flat(actions)).reshape(mask.shape)
            values = shaping(states)
            f = _own_heads(values[:k * n], k, n)
            f_next = torch.cat([f[:, 1:], f[:, -1:]], dim=1).index_put(
                (rows, cols), values[k * n:][torch.arange(len(rows)), rows])
            f_next = (1 - ends) * f_next + ends * absorbing
            return masked_mean((r + f - gamma * f_next - target).pow(2), mask).sum()

        parameters = [*reward.parameters(), *shaping.parameters(), absorbing]
        final = minimise(loss, parameters, steps=cfg.reward_steps, lr=cfg.lr)
        reward.requires_grad_(False)
        with torch.no_grad():
            r = reward.log_prob(flat(self.obs), flat(self.actions)).reshape(self.mask.shape)
        observed = self.mask > 0
        terminal_reward = {"none": 0.0, "absorbing": -gamma * float(absorbing.detach()),
                           "pessimistic": gamma * float(r[observed].min()) / (1 - gamma)}[cfg.termination]
        diagnostics = {"consistency_loss": final, "reward_mean": float(r[observed].mean()),
                       "terminal_reward": terminal_reward, "terminal_fraction": float(self.terminal[observed].mean())}
        if (self.terminal[observed] > 0).any():
            diagnostics["reward_terminal_mean"] = float(r[observed & (self.terminal > 0)].mean()) + terminal_reward
        return FitResult(RecoveredReward(function=PolicyLogDensity(reward), terminal_reward=terminal_reward),
                         diagnostics=diagnostics)


def _own_heads(values: torch.Tensor, k: int, n: int) -> torch.Tensor:
    """(K * N, K) outputs of a K-head net on K rows of N -> (K, N): row k's head k."""
    return values.reshape(k, n, k).diagonal(dim1=0, dim2=2).T


def _previous(x: torch.Tensor) -> torch.Tensor:
    """Rows moved down by one (row j holds row j - 1; row 0 is repeated): batched policy j then reads
    D_{j-1}, so that [1:] is pi_{k+1} at D_k."""
    import torch

    return torch.cat([x[:1], x[:-1]])


class PolicyLogDensity:
    """r_phi(s, a) = ln pi_phi(a|s) as a recovered reward function: numpy batches in, float32 out."""

    def __init__(self, policy: GaussianPolicies) -> None:
        self.policy = policy

    def __call__(self, obs: Array, actions: Array, next_obs: Array) -> Array:
        import torch

        with torch.no_grad():
            value = self.policy.log_prob(torch.as_tensor(obs, dtype=torch.float32)[None],
                                         torch.as_tensor(actions, dtype=torch.float32)[None])
        return value[0].numpy()


class LfL(IRLMethod):
    """Learning from a Learner: invert soft policy improvements (Jacq et al. 2019)."""

    name: ClassVar[str] = "lfl"
    uses: ClassVar[str] = "sequence"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    observations: ClassVar[frozenset[str]] = frozenset({"trajectories", "policies"})
    Config: ClassVar[type] = LfLConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": LfLNetworkConfig}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        if data.n_policies < 2:
            raise NotApplicable("LfL needs at least two observed policies (one improvement)")
        config = self.config_for(task)
        form = TabularForm(config, data, task) if task.track == "tabular" else NetworkForm(config, data, task, seed)
        policies = form.policies()                                  # Alg. 1 lines 1-3
        divergences = form.divergences(policies)                    # Alg. 1 lines 4-6
        reward = form.initial_reward()                              # Alg. 1 lines 7-9
        return form.consistent_reward(reward, policies, divergences)  # Alg. 1 lines 10-13
