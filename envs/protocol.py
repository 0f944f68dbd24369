"""How the observer sees the learner, and what it is granted: a config section of every trial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from envs.config_fields import bounded, check_config, one_of


@dataclass(frozen=True)
class ProtocolConfig:
    """How the observer sees the learner.

    observation: "trajectories" (one sampled stream per policy) or "policies" (the exact
    policies, LfL Table 1; tabular tasks only). pairs_per_batch: state-action pairs per observed
    policy on the tabular track (the MuJoCo learner's batch is one environment's rollout).
    grant_dynamics: *model access*, the true transition model (what MaxEnt IRL plans with; LfL,
    LOGEL and IQ-Learn estimate it from counts without it). Tabular tasks only.
    grant_simulator: *simulator access*, environments to roll out in with the reward hidden
    (what GAIL, AIRL, DAC and GCL train in).
    """

    name: ClassVar[str] = "learner_sequence"
    observation: str = one_of("trajectories", "trajectories", "policies")
    pairs_per_batch: int = bounded(1000, ge=1)
    grant_dynamics: bool = False
    grant_simulator: bool = True

    def __post_init__(self) -> None:
        check_config(self, "protocol")
