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
from envs.task import TaskInfo  # noqa: F401  (re-exported: what a method is told about a task)

Array = np.ndarray


class NotApplicable(Exception):
    """Raised by fit when a method cannot apply to this data or task (the reason is reported)."""


@dataclass(frozen=True)
class RecoveredReward:
    """A reward r(s, a[, s']) recovered by a method.

    table: (S, A) array for tabular tasks; function: a callable (obs, act, next_obs) -> (N,)
    rewards for continuous tasks (typically a torch module wrapped by the method).
    """

    table: Array | None = None
    function: Callable[[Array, Array, Array], Array] | None = None
    # continuous tasks: added to the reward of a transition that ends its episode by termination (not
    # a time limit), the discounted value of the absorbing state it enters (0: an episode's end is neutral)
    terminal_reward: float = 0.0

    def __post_init__(self) -> None:
        if (self.table is None) == (self.function is None):
            raise ValueError("a RecoveredReward has exactly one of table and function")


@dataclass(frozen=True)
class FitResult:
    reward: RecoveredReward
    # the method's own policy where it trains one: tabular, an (S, A) array; continuous, an SB3 policy
    # or a callable (N, obs_dim) numpy observations -> (N, act_dim) actions (scored with sampled actions)
    policy: Any = None
    diagnostics: dict[str, Any] = field(default_factory=dict)


class IRLMethod(ABC):
    """Base class: subclasses set name, uses, Config (a frozen dataclass with the paper's
    defaults) and optionally profiles (budget overrides of Config fields per profile). A method
    whose form on a track has settings of its own names that track's Config in `configs` (LfL's
    networks on MuJoCo); the trial config of a task on that track is then that Config's.

    What a method needs is declared, and `applicable` (called by the pipeline before fit) turns a
    mismatch into NotApplicable, the cell's n/a: `tracks` it has a form for, `observations` it
    reads ("trajectories", "policies": LfL Table 1's exact policies), whether it needs *model
    access* (the true dynamics) or *simulator access* (an environment to roll out in)."""

    name: ClassVar[str]
    uses: ClassVar[str]  # "sequence" (the whole learner sequence) or "demonstrations" (last batches)
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular"})
    observations: ClassVar[frozenset[str]] = frozenset({"trajectories"})
    needs_model: ClassVar[bool] = False
    needs_simulator: ClassVar[bool] = False
    # a track whose form needs other access than those two say: track -> (model, simulator)
    needs_by_track: ClassVar[dict[str, tuple[bool, bool]]] = {}
    Config: ClassVar[type]
    configs: ClassVar[dict[str, type]] = {}  # a track's own Config where its form has other settings
    profiles: ClassVar[dict[str, dict[str, Any]]] = {}
    # What one fit needs from a scheduler (Ray Tune reserves it per trial; torch gets `cpu` threads).
    resources: ClassVar[dict[str, float]] = {"cpu": 1.0, "gpu": 0.0}

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self.defaults = config is None

    @classmethod
    def config_class(cls, track: str | None) -> type:
        """The Config of the method's form for `track` (Config unless `configs` names one)."""
        return cls.configs.get(track, cls.Config)

    def config_for(self, task: TaskInfo) -> Any:
        """This method's config, checked to be the one of the task's track's form."""
        expected = self.config_class(task.track)
        if type(self.config) is expected:
            return self.config
        if self.defaults:
            return expected()  # built without a config: the defaults of the track's form
        raise TypeError(f"{self.name} on a {task.track} task takes a {expected.__name__}, got {type(self.config).__name__}")

    @classmethod
    def needs(cls, track: str | None) -> tuple[bool, bool]:
        """(model access, simulator access) the method's form for `track` needs."""
        return cls.needs_by_track.get(track, (cls.needs_model, cls.needs_simulator))

    @classmethod
    def applicable(cls, data: ObservationDataset, task: TaskInfo) -> None:
        """Raise NotApplicable, naming the reason, when this method cannot fill the cell."""
        if task.track not in cls.tracks:
            raise NotApplicable(f"{cls.name} has no form for the {task.track} track (it has: {', '.join(sorted(cls.tracks))})")
        observed = "policies" if data.policies is not None else "trajectories"
        if observed not in cls.observations:
            raise NotApplicable(f"{cls.name} reads observed {' and '.join(sorted(cls.observations))}, not {observed}")
        needs_model, needs_simulator = cls.needs(task.track)
        if needs_model and task.transitions is None:
            raise NotApplicable(f"{cls.name} needs model access, the true dynamics (protocol.grant_dynamics = true)")
        if needs_simulator and task.simulator is None:
            raise NotApplicable(f"{cls.name} needs simulator access (protocol.grant_simulator = true)")

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
