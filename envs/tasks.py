"""Task registry: a task name and its typed config build a TabularTask (the MuJoCo track adds
continuous tasks beside it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from envs.config_fields import bounded, check_config
from envs.gridworld import ALPHA, GAMMA, SIZE, lfl_gridworld
from envs.patchgrid import patch_gridworld
from envs.tabular import TabularMDP


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
class TabularTask:
    """grid_shape: (width, height) of a grid task whose state index is x * height + y (for figures)."""

    name: str
    mdp: TabularMDP
    alpha: float
    grid_shape: tuple[int, int] | None = None


def build_gridworld(config: GridworldConfig) -> TabularTask:
    mdp = lfl_gridworld(stochastic=config.stochastic, slip=config.slip, gamma=config.gamma)
    return TabularTask(config.name, mdp, config.alpha, (SIZE, SIZE))


def build_patch_gridworld(config: PatchGridConfig) -> TabularTask:
    mdp = patch_gridworld(stochastic=config.stochastic, slip=config.slip, gamma=config.gamma,
                          reset_centre=config.reset_centre)
    return TabularTask(config.name, mdp, config.alpha, (SIZE, SIZE))


TASKS: dict[str, tuple[type, object]] = {GridworldConfig.name: (GridworldConfig, build_gridworld),
                                         PatchGridConfig.name: (PatchGridConfig, build_patch_gridworld)}


def build_task(config) -> TabularTask:
    return TASKS[config.name][1](config)
