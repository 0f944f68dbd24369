import numpy as np
import pytest
from scipy.special import logsumexp

from envs.tabular.gridworld import lfl_gridworld, state_index
from envs.tabular.gym_env import TabularEnv
from envs.tabular.mdp import (TabularMDP, boltzmann, shaping, soft_optimal_policy, soft_policy_improvement,
                          soft_q_values, soft_score, soft_state_values, uniform_policy)
from tests.conftest import random_mdp


def two_state_mdp() -> TabularMDP:
    # State 0: action 0 stays (r=1), action 1 moves to state 1 (r=0). State 1 absorbs (r=2, both actions).
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 1] = 1.0
    r = np.array([[1.0, 0.0], [2.0, 2.0]])
    return TabularMDP(P, r, 0.5, np.array([1.0, 0.0]))


def test_soft_evaluation_two_state_by_hand():
    mdp, alpha = two_state_mdp(), 0.1
    pi = np.array([[0.25, 0.75], [0.5, 0.5]])
    # V1 = (2 + alpha ln 2) / (1 - 0.5); V0 = 0.25 (1 + 0.5 V0) + 0.75 (0 + 0.5 V1) + alpha H(pi0)
    h0 = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    v1 = (2 + alpha * np.log(2)) / 0.5
    v0 = (0.25 + 0.375 * v1 + alpha * h0) / (1 - 0.125)
    np.testing.assert_allclose(soft_state_values(mdp, pi, alpha), [v0, v1], rtol=1e-12)
    np.testing.assert_allclose(soft_q_values(mdp, pi, alpha)[0], [1 + 0.5 * v0, 0.5 * v1], rtol=1e-12)


def test_soft_optimal_policy_satisfies_soft_bellman_optimality():
    mdp, alpha = random_mdp(0), 0.5
    pi = soft_optimal_policy(mdp, alpha)
    q = soft_q_values(mdp, pi, alpha)
    v = alpha * logsumexp(q / alpha, axis=1)
    np.testing.assert_allclose(q, mdp.reward + mdp.gamma * mdp.transitions @ v, atol=1e-10)
    # ... and no policy does better: a soft policy improvement step leaves it unchanged.
    np.testing.assert_allclose(soft_policy_improvement(mdp, pi, alpha), pi, atol=1e-12)


def test_gridworld_reference_values():
    """Independent values of the LfL gridworld's definitions (published_results.md section 1)."""
    mdp, alpha = lfl_gridworld(), 0.3
    uniform = uniform_policy(25, 4)
    assert soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha) == pytest.approx(5.684, abs=1e-3)
    assert soft_score(mdp, uniform, alpha) == pytest.approx(-19.80, abs=1e-2)
    pi = soft_policy_improvement(mdp, uniform, alpha)
    assert soft_score(mdp, pi, alpha) == pytest.approx(0.727, abs=1e-3)
    for _ in range(2):
        pi = soft_policy_improvement(mdp, pi, alpha)
    assert soft_score(mdp, pi, alpha) == pytest.approx(4.179, abs=1e-3)


def test_gridworld_layout():
    det, sto = lfl_gridworld(), lfl_gridworld(stochastic=True)
    s = state_index(1, 1)
    assert det.transitions[s, 0, state_index(2, 1)] == 1.0  # action 0 moves +x
    assert det.transitions[s, 3, state_index(1, 2)] == 1.0  # action 3 moves +y
    assert det.transitions[state_index(0, 0), 1, state_index(0, 0)] == 1.0  # clipped at the wall
    for reset in (state_index(4, 4), state_index(2, 2)):
        assert np.all(det.transitions[reset, :, 0] == 1.0) and np.all(sto.transitions[reset, :, 0] == 1.0)
    assert sto.transitions[s, 0, state_index(2, 1)] == pytest.approx(0.775)
    assert det.reward[state_index(4, 4), 0] == 10 and det.reward[state_index(0, 4), 2] == -12
    assert det.reward[state_index(4, 0), 1] == 0 and det.reward[state_index(3, 3), 0] == -1


def test_shaping_invariance_lemma1():
    """Lemma 1 / Theorem 1: shaping by g shifts Q^pi by g and leaves SPI and pi* unchanged."""
    mdp, alpha = random_mdp(1), 0.3
    g = np.random.default_rng(2).normal(size=mdp.n_states) * 5
    shaped = mdp.reward + shaping(mdp, g)
    pi = np.random.default_rng(3).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    np.testing.assert_allclose(soft_q_values(mdp, pi, alpha, shaped), soft_q_values(mdp, pi, alpha) + g[:, None],
                               atol=1e-10)
    np.testing.assert_allclose(soft_policy_improvement(mdp, pi, alpha, shaped),
                               soft_policy_improvement(mdp, pi, alpha), atol=1e-12)
    np.testing.assert_allclose(soft_optimal_policy(mdp, alpha, shaped), soft_optimal_policy(mdp, alpha), atol=1e-10)


def test_boltzmann_rows_are_distributions():
    pi = boltzmann(np.array([[1000.0, 0.0], [-3.0, -3.0]]), 0.3)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0)
    assert pi[0, 0] == pytest.approx(1.0) and pi[1, 0] == pytest.approx(0.5)


def test_gym_view_follows_the_mdp():
    mdp = lfl_gridworld(stochastic=True)
    env = TabularEnv(mdp, max_episode_steps=5)
    state, _ = env.reset(seed=0)
    assert state == 0 and env.observation_space.n == 25 and env.action_space.n == 4
    counts = np.zeros(25)
    for _ in range(4000):
        env.reset()
        nxt, reward, terminated, truncated, _ = env.step(0)
        counts[nxt] += 1
        assert reward == mdp.reward[0, 0] and not terminated and not truncated
    np.testing.assert_allclose(counts / counts.sum(), mdp.transitions[0, 0], atol=0.03)
    for t in range(4):
        *_, truncated, _ = env.step(1)
    assert truncated
