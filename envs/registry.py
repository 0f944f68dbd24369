"""Every task of both tracks, and the learners each track's tasks are observed through."""

from __future__ import annotations

from typing import Any

from envs.mujoco.task import LEARNERS as MUJOCO_LEARNERS
from envs.mujoco.task import TASKS as MUJOCO_TASKS
from envs.tabular.learners import LEARNERS as TABULAR_LEARNERS
from envs.tabular.task import TASKS as TABULAR_TASKS
from envs.task import Task

TASKS: dict[str, tuple[type, Any]] = {**TABULAR_TASKS, **MUJOCO_TASKS}  # name -> (config class, builder)
TRACK_OF_TASK: dict[str, str] = {**{name: "tabular" for name in TABULAR_TASKS},
                                 **{name: "mujoco" for name in MUJOCO_TASKS}}
LEARNERS: dict[str, dict[str, type]] = {"tabular": TABULAR_LEARNERS, "mujoco": MUJOCO_LEARNERS}  # track -> name -> config


def build_task(config: Any) -> Task:
    return TASKS[config.name][1](config)


def learner_source(track: str | None, learner: str) -> str:
    """What a learner's batches are, as the learner declares it: "sequence" (a learner's
    sequence: LfL's normalization) or "expert" (expert demonstrations: imitation's)."""
    tracks = [track] if track in LEARNERS else list(LEARNERS)
    for name in tracks:
        if learner in LEARNERS[name]:
            return LEARNERS[name][learner].source
    return "sequence"


def all_learners() -> dict[str, type]:
    """Every learner config by name, across tracks (a name may exist on both: the tabular one first)."""
    out: dict[str, type] = {}
    for registry in LEARNERS.values():
        for name, cls in registry.items():
            out.setdefault(name, cls)
    return out
