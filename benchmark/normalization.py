"""The two normalized-score conventions, for single trials (pipeline) and columns (report) alike.

LfL's: 0 = the first observed learner policy, 1 = the last (undefined, NaN, when they score the
same). imitation's: 0 = the uniform policy, 1 = the optimal one.
"""

from __future__ import annotations

import numpy as np


def lfl_normalized(score, first, last):
    span = np.asarray(last - first, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span != 0, (score - first) / np.where(span != 0, span, 1.0), np.nan)


def expert_normalized(score, random, optimal):
    return (score - random) / (optimal - random)
