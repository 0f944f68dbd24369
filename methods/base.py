"""The interface every IRL method implements, and the types it exchanges with the pipeline.

A method receives only the observer's view (an ObservationDataset: no rewards) and what an
observer may legitimately know about the task (TaskInfo); it returns a RecoveredReward and,
where it trains one, its own policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from envs.datasets import ObservationDataset

Array = np.ndarray


class NotApplicable(Exception):
    """Raised by fit when a method cannot apply to this data or task (the reason is reported)."""


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """What the observer knows about a task.

    alpha: the entropy weight of the task's soft objective (part of the problem statement: the
    observer is scored with it).
    n_states / n_actions: set for tabular tasks (observations and actions are indices).
    transitions: the true (S, A, S) dynamics when the protocol grants them, else None.
    features: (S, A, F) reward features of the task (a basis, not the reward), where it has them.
    start: (S,) start-state distribution (every observed stream begins there).
    observation_shape / action_shape: for continuous tasks.
    """

    name: str
    gamma: float
    alpha: float = 0.0
    n_states: int | None = None
    n_actions: int | None = None
    transitions: Array | None = None
    features: Array | None = None
    start: Array | None = None
    observation_shape: tuple[int, ...] = ()
    action_shape: tuple[int, ...] = ()

    @property
    def tabular(self) -> bool:
        return self.n_states is not None


@dataclass(frozen=True)
class RecoveredReward:
    """A reward r(s, a[, s']) recovered by a method.

    table: (S, A) array for tabular tasks; function: a callable (obs, act, next_obs) -> (N,)
    rewards for continuous tasks (typically a torch module wrapped by the method).
    """

    table: Array | None = None
    function: Callable[[Array, Array, Array], Array] | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.function is None):
            raise ValueError("a RecoveredReward has exactly one of table and function")


@dataclass(frozen=True)
class FitResult:
    reward: RecoveredReward
    policy: Array | None = None  # the method's own policy where it trains one; tabular (S, A)
    diagnostics: dict[str, Any] = field(default_factory=dict)


class IRLMethod(ABC):
    """Base class: subclasses set name, uses, Config (a frozen dataclass with the paper's
    defaults) and optionally profiles (budget overrides of Config fields per profile)."""

    name: ClassVar[str]
    uses: ClassVar[str]  # "sequence" (the whole learner sequence) or "demonstrations" (last batches)
    Config: ClassVar[type]
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    # What one fit needs from a scheduler (Ray Tune reserves it per trial; torch gets `cpu` threads).
    resources: ClassVar[dict[str, float]] = {"cpu": 1.0, "gpu": 0.0}

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @abstractmethod
    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        """Recover a reward from `data`. All randomness derives from `seed`."""


def transition_counts(data: ObservationDataset, n_states: int, n_actions: int) -> Array:
    """(K+1, S, A, S) counts n_k(s, a, s') of each batch's observed transitions."""
    counts = np.zeros((len(data.batches), n_states, n_actions, n_states))
    for k, batch in enumerate(data.batches):
        np.add.at(counts[k], (batch.observations, batch.actions, batch.next_observations), 1.0)
    return counts


def estimate_transitions(counts: Array) -> Array:
    """(S, A, S) maximum-likelihood dynamics from (..., S, A, S) counts; an unseen (s, a)
    gets the uniform distribution over next states (nothing is known about it)."""
    totals = counts.reshape(-1, *counts.shape[-3:]).sum(axis=0)
    n = totals.sum(axis=2, keepdims=True)
    return np.where(n > 0, totals / np.maximum(n, 1.0), 1.0 / counts.shape[-1])


def observer_transitions(task: TaskInfo, counts: Array) -> Array:
    """The dynamics an observer plans with: the task's when the protocol grants them, else
    counted from its (..., S, A, S) observed transitions."""
    return task.transitions if task.transitions is not None else estimate_transitions(counts)
