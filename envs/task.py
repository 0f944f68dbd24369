"""The task interface: what a trial needs from a track, and what an observer may know.

A track (envs.tabular, envs.mujoco) implements `Task`; the pipeline talks to nothing else of it.
A task gives the observer's dataset for (learner, protocol, seed) with the learner's reference
scores (`observe`) and what that dataset depends on (`dataset_spec`, its cache key), the
`TaskInfo` the protocol grants an observer (`info`), and what figures draw of the task
(`describe`). The observer of each track (benchmark.observers) is the only other reader of a
Task: it trains and scores on the true reward. Methods see a TaskInfo and an ObservationDataset,
never a Task.

Hiding the reward is the simulator's contract, not a sandbox: a method written to dig through a
simulator's wrappers could reach the true environment (or, on the tabular track, the dynamics
behind its streams). The methods here use only what they declare; a test holds every task's
simulator to the contract.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np

from envs.datasets import ObservationDataset, ReferenceScores
from envs.protocol import ProtocolConfig

if TYPE_CHECKING:
    import gymnasium as gym

Array = np.ndarray


@dataclass(frozen=True)
class Simulator:
    """Simulator access: environments to roll out in, with the true reward hidden (every step
    returns reward 0 and an info dict without the terms the reward is computed from).

    make_env: a fresh gymnasium environment; make_streams(n, max_steps, rng), tabular tasks only:
    n numpy streams of the dynamics (envs.tabular.streams.TabularStreams), the fast path of the
    tabular methods, which read states and never the dynamics' tables.
    """

    make_env: Callable[[], gym.Env]
    make_streams: Callable[[int, int, np.random.Generator], Any] | None = None


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """What the observer knows about a task: the problem statement and what the protocol grants.

    observation_space / action_space: the gymnasium spaces (Discrete on tabular tasks).
    alpha: the entropy weight of the task's soft objective (tabular: part of the problem statement,
    the observer is scored with it; 0 on continuous tasks).
    n_states / n_actions: set for tabular tasks (observations and actions are indices).
    transitions: *model access*, the true (S, A, S) dynamics when the protocol grants them, else None.
    simulator: *simulator access* when the protocol grants it, else None.
    features: (S, A, F) reward features of the task (a basis, not the reward), where it has them.
    reward_features: continuous tasks, the same as a batched map (obs, actions, next_obs) -> (N, F)
    (envs.mujoco.features: what LOGEL's linear reward is written in), with feature_names.
    start: (S,) start-state distribution (every observed stream begins there).
    source: what the batches are, as the trial's learner declares it: "sequence" (a learner's
    policies in the order observed) or "expert" (a converged expert's demonstrations).
    """

    name: str
    track: str
    gamma: float
    observation_space: gym.Space
    action_space: gym.Space
    alpha: float = 0.0
    n_states: int | None = None
    n_actions: int | None = None
    transitions: Array | None = None
    simulator: Simulator | None = None
    features: Array | None = None
    reward_features: Callable[[Array, Array, Array], Array] | None = None
    feature_names: tuple[str, ...] = ()
    start: Array | None = None
    source: str = "sequence"

    @property
    def tabular(self) -> bool:
        return self.track == "tabular"


class Task(ABC):
    """One task of a track (the track's learners are listed in envs.registry.LEARNERS)."""

    track: ClassVar[str]
    name: str

    def dataset_spec(self, config: dict[str, Any]) -> dict[str, Any]:
        """Everything the observer's dataset of a resolved trial config depends on: its cache key."""
        return {key: config[key] for key in ("task", "learner", "protocol", "seed", "profile")}

    def provenance(self) -> dict[str, str]:
        """What a record names beside the package versions (a MuJoCo task: its expert's identity)."""
        return {}

    @abstractmethod
    def observe(self, learner: Any, protocol: ProtocolConfig, seed: np.random.SeedSequence,
                *, cache_dir: Any = None) -> tuple[ObservationDataset, ReferenceScores]:
        """The observer's dataset and the learner's true scores; a deterministic function of the
        arguments (the pipeline caches it by content)."""

    @abstractmethod
    def info(self, protocol: ProtocolConfig) -> TaskInfo:
        """What an observer may know under `protocol`."""

    def describe(self) -> dict[str, Any]:
        """What the report draws of the task beyond the metrics (tabular: the true reward table and
        the grid shape); JSON values, stored in each record's artifacts."""
        return {}
