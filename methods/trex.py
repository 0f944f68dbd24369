"""T-REX, trajectory-ranked reward extrapolation (Brown, Goo, Nagarajan, Niekum, ICML 2019), and its
form for expert demonstrations, D-REX (Brown, Goo, Niekum, CoRL 2019).

T-REX uses only the order of what it observed: it learns a reward whose snippet returns rank the
observed trajectories as they were ranked, with no model of how the ranking came about:

    1  rank      learner source: batch k ranks above every earlier batch (a learner is assumed to
                 improve); two trajectories of one batch are a tie and are never compared
                 expert source (D-REX): clone the demonstrations, roll the clone out with noise
                 epsilon in {0, 0.05, ..., 0.95} (a uniformly random action with probability epsilon),
                 and rank the rollouts by lower epsilon, comparing only levels >= 0.3 apart
    2  pairs     draw two batches of different rank uniformly and a snippet of L consecutive pairs from
                 an episode of each (a shorter episode that ended by termination is a whole snippet)
    3  loss      Bradley-Terry: -ln( exp R(tau_better) / (exp R(tau_worse) + exp R(tau_better)) ),
                 R(tau) = sum_{s in tau} r(s), plus an L2 penalty on the weights
    4  reward    an ensemble of M rewards, each on its own pairs; the observer gets their mean, each
                 divided by its standard deviation over the observed states

Defaults are the authors' MuJoCo code's (hiwonjoon/ICML2019-TREX, mujoco/: its README's "default
hyperparameters"): 5 rewards of 10,000 pairs each, snippets of 40 steps, r(s) a 256-256 ReLU network
on the state alone, Adam lr 1e-4 on minibatches of 64 pairs for 10,000 steps, L2 0.01 x the sum of the
squared weights; D-REX's (dsbrown1331/CoRL2019-DREX, drex-mujoco/): 3 rewards of 5,000 pairs, snippets
of 50 steps, 3,000 steps, 20 noise levels of 5 episodes each, margin 0.3. Where ours differ, and why:
- The observer's reward is the ensemble's mean, each member divided by its std over the observed
  states, fixed at fit time (the authors divide by a running std as PPO trains and, by a bug, pass only
  the last member on). Their wrapper also subtracts the true control cost 0.1 |a|^2: a term of the true
  reward, which no method here is given; ours is the state reward alone (`reward_inputs = "state_action"`
  learns an action term instead).
- Inputs are standardized with the observed states' statistics (as every network here); the loss is
  computed on logits (softplus), so a confidently wrong pair keeps its gradient.
- D-REX's clone is the Gaussian policy every continuous method here clones with (PPO's 64-64 actor,
  its mean action), not the authors' 4 x 256 MSE regressor.
- Episodes end by termination on Hopper and Ant: a snippet is the whole episode when it ended before
  L steps (as the authors'), so R's level is learned where early batches fall sooner; a segment cut
  short by the end of a batch's rollout, not by termination, says nothing of the learner and is
  skipped. The recovered reward adds nothing at an episode's end (terminal_reward 0).
The tabular form is the same steps on a reward table: R(tau) = counts(tau) . theta is linear, so step 3
is an L2-regularised logistic regression on count differences, solved to convergence (L-BFGS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import Batch, ObservationDataset
from methods.base import FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, transition_counts

if TYPE_CHECKING:
    import torch

Array = np.ndarray


@dataclass(frozen=True)
class RankingSettings:
    """What both forms share: the ensemble, the pairs, the reward's inputs, and D-REX's ranking."""

    ensemble: int = bounded(5, ge=1)  # M rewards, each fitted on its own pairs
    pairs: int = bounded(10_000, ge=1)  # snippet pairs per reward
    snippet_length: int = bounded(40, ge=1)  # L: pairs in a snippet
    l2: float = bounded(0.01, ge=0.0)  # weight of the sum of squared weights (tabular: reward entries)
    reward_inputs: str = one_of("state", "state", "state_action")  # state: the paper's r(s)
    # expert source (D-REX): noise levels 0, step, 2 step, ... below 1, rollouts per level, margin
    noise_step: float = bounded(0.05, gt=0.0, lt=1.0)
    rollouts_per_level: int = bounded(5, ge=1)
    noise_margin: float = bounded(0.3, ge=0.0, lt=1.0)

    def __post_init__(self) -> None:
        check_config(self, "method")


@dataclass(frozen=True)
class TREXConfig(RankingSettings):
    """T-REX on a reward table."""

    max_iter: int = bounded(500, ge=1)  # L-BFGS iterations (the problem is convex)


@dataclass(frozen=True)
class TREXNetworkConfig(RankingSettings):
    """T-REX's continuous form; the module docstring gives the sources."""

    name: ClassVar[str] = "trex"
    profiles: ClassVar[dict[str, dict]] = {
        "smoke": {"pairs": 200, "steps": 20, "ensemble": 2, "rollouts_per_level": 1, "noise_step": 0.25,
                  "clone_steps": 50},
        # 300 steps take about 55 s on one core (Hopper's batches; 0.17 s a step of 5 x 64 pairs)
        "quick": {"steps": 300, "rollouts_per_level": 1}}
    hidden: int = bounded(256, ge=1)  # two ReLU layers of this width
    lr: float = bounded(1e-4, gt=0.0)  # Adam
    batch_pairs: int = bounded(64, ge=1)  # pairs a step, per reward
    steps: int = bounded(10_000, ge=0)
    clone_steps: int = bounded(1000, ge=0)  # D-REX: the clone's maximum-likelihood steps


# ----- steps 1-2: rankings and snippet pairs --------------------------------------------------------

@dataclass(frozen=True)
class SnippetPairs:
    """P pairs of snippets, column 0 the worse and column 1 the better: snippet (p, side) is
    `length[p, side]` consecutive pairs of batch `batch[p, side]` from index `start[p, side]`."""

    batch: Array
    start: Array
    length: Array


def episode_windows(batch: Batch, length: int) -> tuple[Array, Array]:
    """(first index, size) of every segment of `batch` a snippet may come from: the runs of pairs
    between episode starts that hold `length` pairs, or fewer when the episode ended by termination."""
    n = len(batch)
    starts = np.flatnonzero(np.asarray(batch.episode_starts, dtype=bool))
    starts = np.union1d([0], starts) if n else starts
    ends = np.append(starts[1:], n)
    sizes = ends - starts
    terminated = np.zeros(len(starts), dtype=bool) if batch.terminals is None else \
        np.asarray(batch.terminals, dtype=bool)[ends - 1]
    keep = (sizes >= length) | (terminated & (sizes > 0))
    return starts[keep], sizes[keep]


def snippet_pairs(batches: list[Batch], ranks: Array, n_pairs: int, length: int, rng: np.random.Generator,
                  min_gap: float = 0.0) -> SnippetPairs:
    """Step 2: n_pairs pairs of snippets of `length` pairs from two batches whose ranks differ by at
    least `min_gap` (equal ranks are never compared), chosen uniformly among such pairs of batches; in
    each, an eligible segment uniformly and a window in it uniformly."""
    windows = [episode_windows(b, length) for b in batches]
    usable = [k for k, (first, _) in enumerate(windows) if len(first)]
    allowed = np.array([(i, j) for i in usable for j in usable
                        if ranks[j] > ranks[i] and ranks[j] - ranks[i] >= min_gap - 1e-9],
                       dtype=np.int64).reshape(-1, 2)
    if not len(allowed):
        raise NotApplicable("T-REX needs two ranked batches with an episode segment of "
                            f"{length} pairs (or a shorter terminated one) each; these have none")
    chosen = allowed[rng.integers(len(allowed), size=n_pairs)]  # (P, 2): worse, better
    start = np.zeros((n_pairs, 2), dtype=np.int64)
    size = np.zeros((n_pairs, 2), dtype=np.int64)
    for k in np.unique(chosen):
        rows, sides = np.nonzero(chosen == k)
        first, sizes = windows[k]
        segment = rng.integers(len(first), size=len(rows))
        take = np.minimum(sizes[segment], length)
        offset = (rng.random(len(rows)) * (sizes[segment] - take + 1)).astype(np.int64)
        start[rows, sides], size[rows, sides] = first[segment] + offset, take
    return SnippetPairs(chosen, start, size)


def ranking_loss(worse: torch.Tensor, better: torch.Tensor) -> torch.Tensor:
    """Step 3, Bradley-Terry: the mean over pairs of -ln sigma(R_better - R_worse), from snippet returns."""
    import torch.nn.functional as F

    return F.softplus(worse - better).mean()


# ----- D-REX: a ranking made from the demonstrations -------------------------------------------------

def noise_levels(step: float) -> Array:
    """epsilon = 0, step, 2 step, ... below 1 (D-REX's np.arange(0, 1, 0.05) at the default)."""
    return np.round(np.arange(0.0, 1.0 - 1e-9, step), 10)


def tabular_noise_rollouts(cfg: TREXConfig, data: ObservationDataset, task: TaskInfo,
                           rng: np.random.Generator) -> tuple[list[Batch], Array]:
    """D-REX's ranked rollouts on a tabular task: the clone of the demonstrations (their action
    frequencies; uniform where a state was never seen) mixed with the uniform policy at each noise
    level, each level `rollouts_per_level` streams as long as a demonstration batch."""
    n_s, n_a = task.n_states, task.n_actions
    counts = transition_counts(data, n_s, n_a).sum(axis=(0, 3))  # (S, A) over every demonstration batch
    seen = counts.sum(axis=1, keepdims=True)
    clone = np.where(seen > 0, counts / np.maximum(seen, 1.0), 1.0 / n_a)
    steps = max(len(b) for b in data.batches)
    batches, ranks = [], []
    for epsilon in noise_levels(cfg.noise_step):
        policy = (1 - epsilon) * clone + epsilon / n_a
        streams = task.simulator.make_streams(cfg.rollouts_per_level, steps + 1, rng)  # never restarted
        s, a, s_next, _ = (np.stack(x, axis=1) for x in zip(*(streams.act(policy) for _ in range(steps))))
        for row in range(cfg.rollouts_per_level):  # (rollouts, steps) each
            batches.append(Batch(s[row], a[row], s_next[row], np.eye(1, steps, dtype=bool)[0]))
            ranks.append(-epsilon)
    return batches, np.asarray(ranks)


def continuous_noise_rollouts(cfg: TREXNetworkConfig, data: ObservationDataset, task: TaskInfo,
                              generator: torch.Generator, rng: np.random.Generator) -> tuple[list[Batch], Array]:
    """D-REX's ranked rollouts on a continuous task: a Gaussian clone of the demonstrations acting
    with its mean, replaced by a uniformly random action with probability epsilon; whole episodes in
    the simulator (reward hidden), `rollouts_per_level` of them at each noise level."""
    import torch

    from methods.nets import fit_gaussian_policies, holdout_blocks, stacked

    obs, mask = stacked([np.concatenate([b.observations for b in data.batches])])
    actions, _ = stacked([np.concatenate([b.actions for b in data.batches])])
    space = task.action_space
    clone = fit_gaussian_policies(obs, actions, mask, steps=cfg.clone_steps, lr=1e-3, entropy_coef=0.0,
                                  generator=generator, bounds=(space.low, space.high), holdout=holdout_blocks(mask))
    envs = [task.simulator.make_env() for _ in range(cfg.rollouts_per_level)]
    batches, ranks = [], []
    for epsilon in noise_levels(cfg.noise_step):
        for env in envs:
            state, _ = env.reset(seed=int(rng.integers(2**31)))
            rows: dict[str, list] = {"observations": [], "actions": [], "next_observations": [], "terminals": []}
            done = False
            while not done:
                with torch.no_grad():
                    action = clone.mu(torch.as_tensor(state, dtype=torch.float32)[None, None])[0, 0].numpy()
                if rng.random() < epsilon:
                    action = rng.uniform(space.low, space.high)
                action = np.clip(action, space.low, space.high).astype(np.float32)
                next_state, _, terminated, truncated, _ = env.step(action)
                for key, value in zip(rows, (state, action, next_state, terminated)):
                    rows[key].append(value)
                state, done = next_state, terminated or truncated
            n = len(rows["actions"])
            batches.append(Batch(*(np.asarray(rows[k], dtype=np.float32) for k in ("observations", "actions",
                                                                                 "next_observations")),
                                 np.eye(1, n, dtype=bool)[0], np.asarray(rows["terminals"], dtype=bool)))
            ranks.append(-epsilon)
    for env in envs:
        env.close()
    return batches, np.asarray(ranks)


# ----- steps 3-4: the tabular form ---------------------------------------------------------------------

def tabular_rewards(cfg: TREXConfig, batches: list[Batch], ranks: Array, min_gap: float, n_states: int,
                    n_actions: int, rng: np.random.Generator) -> tuple[Array, dict]:
    """Steps 2-4 on a table: each member's theta minimises the mean Bradley-Terry loss of its pairs'
    count differences plus l2 |theta|^2; the (S, A) reward is the members' mean, each divided by its
    std over the observed pairs."""
    import torch

    state_action = cfg.reward_inputs == "state_action"
    n_features = n_states * n_actions if state_action else n_states
    index = [b.observations * n_actions + b.actions if state_action else b.observations for b in batches]
    # prefix sums of one-hot features: a snippet's counts are two rows' difference
    prefix = [np.concatenate([np.zeros((1, n_features)), np.cumsum(np.eye(n_features)[i], axis=0)]) for i in index]
    visits = np.bincount(np.concatenate(index), minlength=n_features).astype(float)
    members, losses, accuracies = [], [], []
    for _ in range(cfg.ensemble):
        pairs = snippet_pairs(batches, ranks, cfg.pairs, cfg.snippet_length, rng, min_gap)
        counts = np.zeros((cfg.pairs, 2, n_features))
        for k in np.unique(pairs.batch):
            rows, sides = np.nonzero(pairs.batch == k)
            first = pairs.start[rows, sides]
            counts[rows, sides] = prefix[k][first + pairs.length[rows, sides]] - prefix[k][first]
        x = torch.as_tensor(counts)
        theta = torch.zeros(n_features, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([theta], max_iter=cfg.max_iter, tolerance_grad=1e-10, tolerance_change=1e-12,
                                      history_size=20, line_search_fn="strong_wolfe")

        def objective() -> torch.Tensor:
            optimizer.zero_grad()
            returns = x @ theta
            loss = ranking_loss(returns[:, 0], returns[:, 1]) + cfg.l2 * theta.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(objective)
        with torch.no_grad():
            returns = x @ theta
            losses.append(float(ranking_loss(returns[:, 0], returns[:, 1])))
            accuracies.append(float((returns[:, 1] > returns[:, 0]).double().mean()))
        members.append(theta.detach().numpy() / weighted_std(theta.detach().numpy(), visits))
    reward = np.mean(members, axis=0)
    table = reward.reshape(n_states, n_actions) if state_action else np.repeat(reward[:, None], n_actions, axis=1)
    return table, {"ranking_loss": float(np.mean(losses)), "pair_accuracy": float(np.mean(accuracies))}


def weighted_std(values: Array, weights: Array) -> float:
    """The std of `values` under `weights` (1 where it is 0: a constant reward stays as it is)."""
    mean = np.average(values, weights=weights)
    std = float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))
    return std if std > 0 else 1.0


# ----- steps 3-4: the network form ---------------------------------------------------------------------

class EnsembleReward:
    """r(s[, a]) = mean_m f_m(x) / sigma_m of M networks f_m (two ReLU layers, standardized inputs),
    as a recovered reward function: numpy batches in, float32 out."""

    def __init__(self, inputs: torch.Tensor, hidden: int, members: int, state_action: bool,
                 generator: torch.Generator) -> None:
        import torch

        from methods.nets import BatchedMLP, Standardizer

        self.state_action = state_action
        self.scale = Standardizer(inputs)
        self.nets = BatchedMLP(members, (inputs.shape[-1], hidden, hidden, 1), generator, activation=torch.relu)
        self.sigma = torch.ones(members, 1)

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """(M, N) each member's raw output at the (N, dim) inputs, or at (M, N, dim) rows of its own."""
        x = self.scale(x)
        return self.nets(x if x.dim() == 3 else x.expand(len(self.sigma), *x.shape))[..., 0]

    def __call__(self, obs: Array, actions: Array, next_obs: Array) -> Array:
        import torch

        x = np.concatenate([obs, actions], axis=1) if self.state_action else obs
        with torch.no_grad():
            values = self.outputs(torch.as_tensor(np.asarray(x, dtype=np.float32))) / self.sigma
        return values.mean(dim=0).numpy().astype(np.float32)


def network_rewards(cfg: TREXNetworkConfig, batches: list[Batch], ranks: Array, min_gap: float,
                    rng: np.random.Generator, generator: torch.Generator) -> tuple[EnsembleReward, dict]:
    """Steps 2-4 with networks: M rewards trained together (disjoint parameters, one Adam), each on
    minibatches of its own pairs."""
    import torch

    from methods.nets import stacked

    state_action = cfg.reward_inputs == "state_action"
    rows = [np.concatenate([b.observations, b.actions], axis=1) if state_action else b.observations for b in batches]
    inputs, mask = stacked(rows)  # (B, N_max, dim)
    pairs = [snippet_pairs(batches, ranks, cfg.pairs, cfg.snippet_length, rng, min_gap) for _ in range(cfg.ensemble)]
    batch_of, start_of, length_of = (torch.as_tensor(np.stack([getattr(p, f) for p in pairs]))
                                     for f in ("batch", "start", "length"))  # (M, P, 2)
    reward = EnsembleReward(inputs[mask > 0], cfg.hidden, cfg.ensemble, state_action, generator)
    offsets = torch.arange(cfg.snippet_length)
    members = torch.arange(cfg.ensemble)[:, None]

    def returns(chosen: torch.Tensor) -> torch.Tensor:
        """(M, n, 2) snippet returns of each member's pairs `chosen` (M, n)."""
        b, s, n = (x[members, chosen] for x in (batch_of, start_of, length_of))  # (M, n, 2)
        positions = (s[..., None] + offsets).clamp_max(inputs.shape[1] - 1)  # (M, n, 2, L)
        inside = (offsets < n[..., None]).float()
        x = inputs[b[..., None].expand_as(positions), positions]  # (M, n, 2, L, dim)
        values = reward.outputs(x.reshape(cfg.ensemble, -1, x.shape[-1])).reshape(inside.shape)
        return (values * inside).sum(dim=-1)

    weights = list(reward.nets.weights)
    optimizer = torch.optim.Adam(reward.nets.parameters(), lr=cfg.lr)
    for _ in range(cfg.steps):
        chosen = torch.randint(cfg.pairs, (cfg.ensemble, cfg.batch_pairs), generator=generator)
        r = returns(chosen)
        loss = sum(ranking_loss(r[m, :, 0], r[m, :, 1]) for m in range(cfg.ensemble)) \
            + cfg.l2 * sum(w.pow(2).sum() for w in weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    reward.nets.requires_grad_(False)
    with torch.no_grad():
        check = torch.arange(min(cfg.pairs, 1000)).expand(cfg.ensemble, -1)
        r = returns(check)
        accuracy = float((r[..., 1] > r[..., 0]).float().mean())
        final = float(np.mean([float(ranking_loss(r[m, :, 0], r[m, :, 1])) for m in range(cfg.ensemble)]))
        reward.sigma = reward.outputs(inputs[mask > 0]).std(dim=1, keepdim=True).clamp_min(1e-6)
    return reward, {"ranking_loss": final, "pair_accuracy": accuracy}


class TREX(IRLMethod):
    """T-REX: a reward whose snippet returns rank the observed batches in their order (Brown et al.
    2019); D-REX's noise-injection ranking on expert demonstrations (Brown et al. 2019, CoRL)."""

    name: ClassVar[str] = "trex"
    uses: ClassVar[str] = "sequence"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    Config: ClassVar[type] = TREXConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": TREXNetworkConfig}

    @classmethod
    def applicable(cls, data: ObservationDataset, task: TaskInfo) -> None:
        super().applicable(data, task)
        if task.source == "expert" and task.simulator is None:
            raise NotApplicable("trex on expert demonstrations (D-REX) rolls out a noisy clone: it needs simulator "
                                "access (protocol.grant_simulator = true)")
        if task.source != "expert" and data.n_policies < 2:
            raise NotApplicable("trex ranks the observed batches by their order: it needs at least two")

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        import torch

        cfg = self.config_for(task)
        rng = np.random.default_rng(seed)
        generator = torch.Generator().manual_seed(seed)
        if task.source == "expert":                                                  # step 1, D-REX
            batches, ranks = (tabular_noise_rollouts(cfg, data, task, rng) if task.track == "tabular" else
                              continuous_noise_rollouts(cfg, data, task, generator, rng))
            min_gap = cfg.noise_margin
        else:                                                                        # step 1, T-REX
            batches, ranks, min_gap = list(data.batches), np.arange(len(data.batches), dtype=float), 0.0
        if task.track == "tabular":                                                  # steps 2-4
            table, diagnostics = tabular_rewards(cfg, batches, ranks, min_gap, task.n_states, task.n_actions, rng)
            reward = RecoveredReward(table=table)
        else:
            function, diagnostics = network_rewards(cfg, batches, ranks, min_gap, rng, generator)
            reward = RecoveredReward(function=function)
        diagnostics["ranked_batches"] = len(batches)
        diagnostics["ranking"] = "noise injection (D-REX)" if task.source == "expert" else "batch order"
        return FitResult(reward, diagnostics=diagnostics)
