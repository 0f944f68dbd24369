"""The gridworld track's tasks: a task name and its typed config build a TabularTask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config
from envs.datasets import ObservationDataset, ReferenceScores
from envs.protocol import ProtocolConfig
from envs.tabular.gridworld import ALPHA, GAMMA, SIZE, lfl_gridworld
from envs.tabular.learners import run_learner
from envs.tabular.mdp import TabularMDP, soft_optimal_policy, soft_score, uniform_policy
from envs.tabular.patchgrid import patch_gridworld
from envs.tabular.streams import TabularStreams
from envs.task import Simulator, Task, TaskInfo


@dataclass(frozen=True)
class GridworldConfig:
    """The LfL gridworld; stochastic=True mixes `slip` of a uniformly random move."""

    name: ClassVar[str] = "lfl-gridworld"
    stochastic: bool = False
    slip: float = bounded(0.3, ge=0.0, le=1.0)  # a probability
    gamma: float = bounded(GAMMA, ge=0.0, lt=1.0)  # envs.tabular's infinite-horizon values need gamma < 1
    # entropy weight of the task's soft objective (the learner's, and the score's)
    alpha: float = bounded(ALPHA, gt=0.0)

    def __post_init__(self) -> None:
        check_config(self, "task")


@dataclass(frozen=True)
class PatchGridConfig(GridworldConfig):
    """LOGEL's colour-patch gridworld (one-hot colour features, w = [R, V, N, P, G] = [0, -5, -1, -3, 7]);
    reset_centre adds the centre reset that the authors' tables have but their simulator does not."""

    name: ClassVar[str] = "patch-gridworld"
    reset_centre: bool = False


@dataclass(frozen=True)
class TabularTask(Task):
    """grid_shape: (width, height) of a grid task whose state index is x * height + y (for figures)."""

    track: ClassVar[str] = "tabular"
    name: str
    mdp: TabularMDP
    alpha: float
    grid_shape: tuple[int, int] | None = None

    def observe(self, learner: Any, protocol: ProtocolConfig, seed: np.random.SeedSequence,
                *, cache_dir: Any = None) -> tuple[ObservationDataset, ReferenceScores]:
        rng = np.random.default_rng(seed)
        policies, dataset = run_learner(self.mdp, self.alpha, learner, observation=protocol.observation,
                                        pairs_per_batch=protocol.pairs_per_batch, rng=rng)
        mdp, alpha = self.mdp, self.alpha
        reference = ReferenceScores(
            learner=np.array([soft_score(mdp, p, alpha) for p in policies]),
            optimal=soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha),
            random=soft_score(mdp, uniform_policy(mdp.n_states, mdp.n_actions), alpha),
        )
        return dataset, reference

    def info(self, protocol: ProtocolConfig) -> TaskInfo:
        import gymnasium as gym

        mdp = self.mdp
        return TaskInfo(name=self.name, track=self.track, gamma=mdp.gamma, alpha=self.alpha,
                        observation_space=gym.spaces.Discrete(mdp.n_states),
                        action_space=gym.spaces.Discrete(mdp.n_actions),
                        n_states=mdp.n_states, n_actions=mdp.n_actions,
                        transitions=mdp.transitions if protocol.grant_dynamics else None,
                        simulator=self.simulator() if protocol.grant_simulator else None,
                        features=mdp.features, start=mdp.start)

    def simulator(self) -> Simulator:
        from envs.tabular.gym_env import TabularEnv

        hidden = self.mdp.with_reward(np.zeros_like(self.mdp.reward))  # an observer's simulator pays nothing
        return Simulator(make_env=lambda: TabularEnv(hidden),
                         make_streams=lambda n, max_steps, rng: TabularStreams(hidden.transitions, hidden.start, n,
                                                                               max_steps, rng))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"true_reward": self.mdp.reward.tolist()}
        if self.grid_shape is not None:
            out["grid_shape"] = list(self.grid_shape)
        return out


def build_gridworld(config: GridworldConfig) -> TabularTask:
    mdp = lfl_gridworld(stochastic=config.stochastic, slip=config.slip, gamma=config.gamma)
    return TabularTask(config.name, mdp, config.alpha, (SIZE, SIZE))


def build_patch_gridworld(config: PatchGridConfig) -> TabularTask:
    mdp = patch_gridworld(stochastic=config.stochastic, slip=config.slip, gamma=config.gamma,
                          reset_centre=config.reset_centre)
    return TabularTask(config.name, mdp, config.alpha, (SIZE, SIZE))


TASKS: dict[str, tuple[type, object]] = {GridworldConfig.name: (GridworldConfig, build_gridworld),
                                         PatchGridConfig.name: (PatchGridConfig, build_patch_gridworld)}
