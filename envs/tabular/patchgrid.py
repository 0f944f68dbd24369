"""The colour-patch gridworld of LOGEL (Ramponi, Drappo, Restelli, NeurIPS 2020, section 6.1).

5x5 grid, state index i = x*5 + y, start (0,0), gamma 0.96, 4 actions moving by column d of
[[1,-1,0,0],[0,0,-1,1]] (dx, dy) clipped at the walls (the LfL gridworld's conventions, which the
authors' code reuses). Each cell has one of five colours; the reward is linear in the one-hot
colour of the current cell, r(s, a) = phi(s)^T w, with features ordered [R, V, N, P, G]:

    x\\y  0  1  2  3  4
    0    N  N  N  R  R
    1    N  N  N  N  R
    2    N  N  V  N  N
    3    P  N  N  N  N
    4    P  P  N  N  G          w = [R, V, N, P, G] = [0, -5, -1, -3, 7]

From the goal G = (4,4) every action leads back to the start.

Facts resolved from the authors' code (gioramponi/LOGEL, gridworld/envs/grid_patch.py):
- Weights. The module docstring says "R = -3, ..., P = 0", but the code that generates every
  experiment sets reward_weights = [0, -5, -1, -3, 7] and indexes it in the order [R, V, N, P, G]
  (reward() and get_reward_vector()), i.e. R = 0 and P = -3. The code is what produced the paper's
  learners, so it wins: the docstring swapped R and P.
- Reset cells. The simulator the learners run in (Grid.transition) resets only from the goal; its
  "or state == (mid, mid)" is commented out. make_tables() still resets from the centre too (a
  leftover of the LfL gridworld it was copied from). We follow the simulator: the centre V cell is
  a -5 patch, not a teleport (reset_centre=True gives the tables' variant).
- Reward timing. The simulator pays the colour of the cell *entered*; make_tables() (and so the
  authors' evaluation) pays the colour of the current cell. We use the current cell, as the tables
  and the LfL gridworld do, so that features are (S, A, F) functions of (s, a) alone.
- The stochastic variant mixes 0.3 of a uniformly random move with 0.7 of the intended one.
"""

from __future__ import annotations

import numpy as np

from envs.tabular.gridworld import MOVES, SIZE, grid_transitions, state_index
from envs.tabular.mdp import TabularMDP

GAMMA = 0.96
ALPHA = 0.3  # the suite's task entropy weight (the observer is scored with it)
COLOURS = ("R", "V", "N", "P", "G")
COLOUR_GRID = (
    "NNNRR",
    "NNNNR",
    "NNVNN",
    "PNNNN",
    "PPNNG",
)
WEIGHTS = np.array([0.0, -5.0, -1.0, -3.0, 7.0])  # [R, V, N, P, G], the authors' code
GOAL = (4, 4)
CENTRE = (2, 2)


def colour_features() -> np.ndarray:
    """(S, 5) one-hot colour of each cell, in COLOURS order."""
    phi = np.zeros((SIZE * SIZE, len(COLOURS)))
    for x in range(SIZE):
        for y in range(SIZE):
            phi[state_index(x, y), COLOURS.index(COLOUR_GRID[x][y])] = 1.0
    return phi


def patch_gridworld(
    *, stochastic: bool = False, slip: float = 0.3, gamma: float = GAMMA, reset_centre: bool = False,
    weights: np.ndarray | None = None,
) -> TabularMDP:
    """The patch grid as a TabularMDP with (S, A, 5) one-hot colour features in mdp.features."""
    n_states, n_actions = SIZE * SIZE, MOVES.shape[1]
    resets = (GOAL, CENTRE) if reset_centre else (GOAL,)
    transitions = grid_transitions(reset_cells=resets, stochastic=stochastic, slip=slip)
    features = np.repeat(colour_features()[:, None, :], n_actions, axis=1)
    w = WEIGHTS if weights is None else np.asarray(weights, dtype=float)
    start = np.zeros(n_states)
    start[state_index(0, 0)] = 1.0
    return TabularMDP(transitions, features @ w, gamma, start, features)
