"""The LfL gridworld (Jacq et al. 2019, section 6.1 and Fig. 2).

5x5 grid, state index i = x*5 + y, start (0,0). Action d moves by column d of
[[1,-1,0,0],[0,0,-1,1]] (dx, dy), clipped at the walls. State-only reward: (4,4) = +10,
(0,4) = -12, (4,0) = 0, every other cell -1. From the goal (4,4) and the centre (2,2) every
action leads back to the start. The stochastic variant mixes 0.3 of a uniformly random move
with 0.7 of the intended one (reset states still reset).
"""

from __future__ import annotations

import numpy as np

from envs.tabular.mdp import TabularMDP

SIZE = 5
MOVES = np.array([[1, -1, 0, 0], [0, 0, -1, 1]])  # column d is (dx, dy) of action d
GAMMA = 0.96
ALPHA = 0.3
RESET_CELLS = ((4, 4), (2, 2))
CELL_REWARDS = {(4, 4): 10.0, (0, 4): -12.0, (4, 0): 0.0}
DEFAULT_REWARD = -1.0


def state_index(x: int, y: int) -> int:
    return x * SIZE + y


def grid_transitions(*, reset_cells, stochastic: bool, slip: float) -> np.ndarray:
    """(S, A, S) moves on the 5x5 grid, clipped at the walls; every action of a reset cell leads
    to the start (0,0). The stochastic variant mixes `slip` of a uniformly random move."""
    n_states, n_actions = SIZE * SIZE, MOVES.shape[1]
    moves = np.zeros((n_states, n_actions, n_states))
    for x in range(SIZE):
        for y in range(SIZE):
            s = state_index(x, y)
            for a in range(n_actions):
                if (x, y) in reset_cells:
                    moves[s, a, state_index(0, 0)] = 1.0
                    continue
                nx = min(max(x + MOVES[0, a], 0), SIZE - 1)
                ny = min(max(y + MOVES[1, a], 0), SIZE - 1)
                moves[s, a, state_index(nx, ny)] = 1.0
    if not stochastic:
        return moves
    random_move = moves.mean(axis=1, keepdims=True)  # a uniformly random action's outcome
    return (1.0 - slip) * moves + slip * np.broadcast_to(random_move, moves.shape)


def lfl_gridworld(*, stochastic: bool = False, slip: float = 0.3, gamma: float = GAMMA) -> TabularMDP:
    """The gridworld as a TabularMDP with one-hot state reward features (S, A, S)."""
    n_states, n_actions = SIZE * SIZE, MOVES.shape[1]
    transitions = grid_transitions(reset_cells=RESET_CELLS, stochastic=stochastic, slip=slip)
    state_reward = np.full(n_states, DEFAULT_REWARD)
    for (x, y), value in CELL_REWARDS.items():
        state_reward[state_index(x, y)] = value
    reward = np.repeat(state_reward[:, None], n_actions, axis=1)
    start = np.zeros(n_states)
    start[state_index(0, 0)] = 1.0
    features = np.broadcast_to(np.eye(n_states)[:, None, :], (n_states, n_actions, n_states)).copy()
    return TabularMDP(transitions, reward, gamma, start, features)
