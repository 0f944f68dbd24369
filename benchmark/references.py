"""The reference rows of every board, computed by the pipeline (methods never see the true reward).

oracle: the observer trained the same way on the *true* reward: the ceiling of the evaluation.
bc: the behavioural clone of the last observed batch, no reward, no training: the floor an IRL
method must beat (the observer's own starting point under the LfL protocol).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class OracleConfig:
    """The observer trained on the task's true reward."""

    name: ClassVar[str] = "oracle"


@dataclass(frozen=True)
class BCConfig:
    """The behavioural clone of the last observed batch, scored without further training."""

    name: ClassVar[str] = "bc"


REFERENCES: dict[str, type] = {OracleConfig.name: OracleConfig, BCConfig.name: BCConfig}
