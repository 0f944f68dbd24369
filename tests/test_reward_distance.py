import math

import numpy as np
import pytest

from benchmark.reward_distance import epic_distance
from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.mdp import shaping, soft_policy_improvement, uniform_policy
from methods.lfl import inverted_improvement_rewards
from tests.conftest import random_mdp


def test_epic_ignores_shaping_constants_and_positive_scale():
    mdp = random_mdp(0)
    rng = np.random.default_rng(1)
    shaped = 3.0 * (mdp.reward + shaping(mdp, rng.normal(size=mdp.n_states) * 10)) + 7.0
    assert epic_distance(shaped, mdp.reward, mdp.transitions, mdp.gamma) == pytest.approx(0.0, abs=1e-6)
    assert epic_distance(-mdp.reward, mdp.reward, mdp.transitions, mdp.gamma) == pytest.approx(1.0, abs=1e-6)


def test_epic_separates_different_rewards_and_is_symmetric():
    mdp = random_mdp(2)
    other = np.random.default_rng(3).normal(size=mdp.reward.shape)
    d = epic_distance(other, mdp.reward, mdp.transitions, mdp.gamma)
    assert 0.3 < d < 0.95
    assert d == pytest.approx(epic_distance(mdp.reward, other, mdp.transitions, mdp.gamma))


def test_epic_of_pure_shaping_is_undefined():
    mdp = random_mdp(4)
    pure = shaping(mdp, np.arange(mdp.n_states, dtype=float))
    assert math.isnan(epic_distance(pure, mdp.reward, mdp.transitions, mdp.gamma))


def test_theorem2_reward_is_at_epic_distance_zero():
    mdp, alpha = lfl_gridworld(stochastic=True), 0.3
    pi1 = uniform_policy(25, 4)
    r_bar = inverted_improvement_rewards(np.stack([pi1, soft_policy_improvement(mdp, pi1, alpha)]),
                                         mdp.transitions, mdp.gamma, alpha)[0]
    assert epic_distance(r_bar, mdp.reward, mdp.transitions, mdp.gamma) < 1e-6
