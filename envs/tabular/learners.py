"""Gridworld learners: agents that improve a policy on the true reward while being observed.

Each learner returns the sequence of policies pi_0..pi_K it went through (K improvements);
`observe` turns a sequence into the observer's ObservationDataset. Learners use the true
reward and the task's entropy weight alpha; observers never see either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config
from envs.datasets import Batch, ObservationDataset
from envs.tabular.gpomdp import GPOMDPConfig, gpomdp_policies
from envs.tabular.mdp import (
    TabularMDP,
    boltzmann,
    soft_bellman_optimality,
    soft_optimal_policy,
    soft_policy_improvement,
    uniform_policy,
)

Array = np.ndarray


@dataclass(frozen=True)
class SPIConfig:
    """Soft policy iteration from the uniform policy (the model LfL assumes)."""

    name: ClassVar[str] = "spi"
    source: ClassVar[str] = "sequence"
    k: int = bounded(3, ge=0)  # k = 0: the uniform policy alone (a method needing an improvement reports n/a)

    def __post_init__(self) -> None:
        check_config(self, "learner")


@dataclass(frozen=True)
class SVIConfig:
    """Soft value iteration (Haarnoja et al. 2017): Q_{k+1} = r + gamma P alpha logsumexp(Q_k/alpha),
    observed policy pi_k = softmax(Q_k / alpha), Q_0 = q_init everywhere."""

    name: ClassVar[str] = "svi"
    source: ClassVar[str] = "sequence"
    k: int = bounded(20, ge=0)
    q_init: float = bounded(0.0)

    def __post_init__(self) -> None:
        check_config(self, "learner")


@dataclass(frozen=True)
class QLearningConfig:
    """Tabular Q-learning acting with softmax(Q / alpha); the observer sees the learner's own
    stream of experience, one batch per policy (Q is frozen while a batch is collected, then
    updated on it)."""

    name: ClassVar[str] = "q_learning"
    source: ClassVar[str] = "sequence"
    k: int = bounded(50, ge=0)
    learning_rate: float = bounded(0.1, gt=0.0, le=1.0)  # a step towards the TD target: beyond 1 it overshoots
    q_init: float = bounded(0.0)

    def __post_init__(self) -> None:
        check_config(self, "learner")


@dataclass(frozen=True)
class RandomImprovementsConfig:
    """n_policies mixtures (1 - w) uniform + w pi*_soft with w ~ U(0, 1) sorted increasing;
    the observer sees the first n_observed."""

    name: ClassVar[str] = "random_improvements"
    source: ClassVar[str] = "sequence"
    n_policies: int = bounded(15, ge=1)
    n_observed: int = bounded(10, ge=1)

    def __post_init__(self) -> None:
        check_config(self, "learner")
        if self.n_observed > self.n_policies:
            raise ValueError(f"learner.n_observed = {self.n_observed} exceeds learner.n_policies = {self.n_policies} "
                             "(valid: 1 <= n_observed <= n_policies)")

    @property
    def k(self) -> int:
        return self.n_observed - 1


@dataclass(frozen=True)
class ExpertConfig:
    """A converged expert (standard IRL's demonstrator): the soft-optimal policy, observed for
    n_batches batches (K = n_batches - 1 'improvements' that change nothing)."""

    name: ClassVar[str] = "expert"
    source: ClassVar[str] = "expert"  # imitation's normalization: 0 = uniform policy, 1 = optimal
    n_batches: int = bounded(1, ge=1)

    def __post_init__(self) -> None:
        check_config(self, "learner")

    @property
    def k(self) -> int:
        return self.n_batches - 1


LearnerConfig = SPIConfig | SVIConfig | QLearningConfig | RandomImprovementsConfig | ExpertConfig | GPOMDPConfig


def sample_stream(mdp: TabularMDP, policy: Array, n: int, rng: np.random.Generator) -> Batch:
    """n consecutive state-action pairs of `policy`, one continuous stream from a start state."""
    states = np.empty(n + 1, dtype=np.int64)
    actions = np.empty(n, dtype=np.int64)
    policy_cdf = np.cumsum(policy, axis=1)
    transition_cdf = np.cumsum(mdp.transitions, axis=2)
    uniforms = rng.random((n, 2))
    states[0] = rng.choice(mdp.n_states, p=mdp.start)
    for t in range(n):
        s = states[t]
        a = min(np.searchsorted(policy_cdf[s], uniforms[t, 0], side="right"), mdp.n_actions - 1)
        actions[t] = a
        states[t + 1] = min(np.searchsorted(transition_cdf[s, a], uniforms[t, 1], side="right"), mdp.n_states - 1)
    episode_starts = np.zeros(n, dtype=bool)
    episode_starts[0] = True
    return Batch(states[:-1].copy(), actions, states[1:].copy(), episode_starts)


def spi_policies(mdp: TabularMDP, alpha: float, config: SPIConfig, rng: np.random.Generator) -> Array:
    policies = [uniform_policy(mdp.n_states, mdp.n_actions)]
    for _ in range(config.k):
        policies.append(soft_policy_improvement(mdp, policies[-1], alpha))
    return np.stack(policies)


def svi_policies(mdp: TabularMDP, alpha: float, config: SVIConfig, rng: np.random.Generator) -> Array:
    q = np.full((mdp.n_states, mdp.n_actions), config.q_init)
    policies = [boltzmann(q, alpha)]
    for _ in range(config.k):
        q = soft_bellman_optimality(mdp, q, alpha)
        policies.append(boltzmann(q, alpha))
    return np.stack(policies)


def random_improvement_policies(
    mdp: TabularMDP, alpha: float, config: RandomImprovementsConfig, rng: np.random.Generator
) -> Array:
    uniform = uniform_policy(mdp.n_states, mdp.n_actions)
    optimal = soft_optimal_policy(mdp, alpha)
    weights = np.sort(rng.random(config.n_policies))[: config.n_observed]
    return np.stack([(1.0 - w) * uniform + w * optimal for w in weights])


def expert_policies(mdp: TabularMDP, alpha: float, config: ExpertConfig, rng: np.random.Generator) -> Array:
    return np.repeat(soft_optimal_policy(mdp, alpha)[None], config.n_batches, axis=0)


def q_learning_run(
    mdp: TabularMDP, alpha: float, config: QLearningConfig, pairs_per_batch: int, rng: np.random.Generator
) -> tuple[Array, tuple[Batch, ...]]:
    """Q-learning whose own experience is what the observer sees: batch k is collected with the
    frozen policy softmax(Q_k / alpha), then Q is updated on each of its transitions in order."""
    q = np.full((mdp.n_states, mdp.n_actions), config.q_init)
    policies, batches = [], []
    for _ in range(config.k + 1):
        policy = boltzmann(q, alpha)
        batch = sample_stream(mdp, policy, pairs_per_batch, rng)
        policies.append(policy)
        batches.append(batch)
        for s, a, s_next in zip(batch.observations, batch.actions, batch.next_observations):
            target = mdp.reward[s, a] + mdp.gamma * q[s_next].max()
            q[s, a] += config.learning_rate * (target - q[s, a])
    return np.stack(policies), tuple(batches)


PolicySequence = Callable[[TabularMDP, float, LearnerConfig, np.random.Generator], Array]

LEARNERS: dict[str, type] = {
    cfg.name: cfg for cfg in (SPIConfig, SVIConfig, QLearningConfig, RandomImprovementsConfig, ExpertConfig,
                              GPOMDPConfig)
}
_POLICY_SEQUENCES: dict[str, PolicySequence] = {
    "spi": spi_policies,
    "svi": svi_policies,
    "random_improvements": random_improvement_policies,
    "expert": expert_policies,
    "gpomdp": gpomdp_policies,
}


def run_learner(
    mdp: TabularMDP,
    alpha: float,
    config: LearnerConfig,
    *,
    observation: str,
    pairs_per_batch: int,
    rng: np.random.Generator,
) -> tuple[Array, ObservationDataset]:
    """Run a learner and observe it: returns its policies (K+1, S, A) and the observer's view.

    observation: "trajectories" (one sampled stream per policy) or "policies" (the exact policies,
    the protocol of the LfL paper's Table 1).
    """
    if config.name == "q_learning":
        policies, batches = q_learning_run(mdp, alpha, config, pairs_per_batch, rng)
    else:
        policies = _POLICY_SEQUENCES[config.name](mdp, alpha, config, rng)
        batches = tuple(sample_stream(mdp, p, pairs_per_batch, rng) for p in policies) if observation == "trajectories" else ()
    if observation == "policies":
        return policies, ObservationDataset(batches=(), policies=policies)
    return policies, ObservationDataset(batches=batches)
