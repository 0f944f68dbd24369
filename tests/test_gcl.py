import itertools

import numpy as np
import pytest
import torch

from envs.datasets import Batch
from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_score
from methods.base import NotApplicable
from methods.gcl import (GCLConfig, GuidedCostLearning, demo_segments, exact_log_partition, log_partition_estimate,
                         rollout, segment_log_prob)
from tests.conftest import grid_info, random_mdp


def expert_data(pairs: int, seed: int = 0):
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(), observation="trajectories", pairs_per_batch=pairs,
                          rng=np.random.default_rng(seed))
    return mdp, alpha, data


def test_gcl_on_expert_demonstrations_gives_a_low_regret_observer():
    """1000 expert pairs of the LfL gridworld, dynamics granted: the observer (soft-optimal for the
    recovered reward at alpha = 0.3) has regret < 0.5 (measured 0.17 at seed 0), and so does GCL's own policy."""
    mdp, alpha, data = expert_data(1000)
    info = grid_info(mdp, alpha, transitions=mdp.transitions, start=mdp.start)
    result = GuidedCostLearning().fit(data, info, seed=0)
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, result.reward.table), alpha) < 0.5
    assert optimal - soft_score(mdp, result.policy, alpha) < 0.5


def test_exact_log_partition_matches_enumeration():
    mdp, alpha, horizon = random_mdp(0, n_states=3, n_actions=2), 0.5, 3
    reward = np.random.default_rng(1).normal(size=(3, 2))
    first = np.array([0, 0, 2])  # rho = (2/3, 0, 1/3)
    rho = np.bincount(first, minlength=3) / 3
    total = 0.0
    for s0 in range(3):
        for steps in itertools.product(range(2), range(3), repeat=horizon):  # (a_t, s_{t+1}) for each t
            s, density, ret = s0, rho[s0], 0.0
            for a, s_next in zip(steps[0::2], steps[1::2]):
                density *= mdp.transitions[s, a, s_next]
                ret += reward[s, a]
                s = s_next
            total += density * np.exp(ret / alpha)
    assert exact_log_partition(mdp.transitions, reward, first, horizon, alpha) == pytest.approx(np.log(total), rel=1e-10)


def test_importance_sampled_log_partition_converges_to_the_exact_value():
    """Segments from a random policy q, weights 1 / q(tau) (dynamics cancel): the estimate of
    ln Z approaches the exact value as the number of samples grows. (q is kept near the target:
    the weights of a far-off q are heavy-tailed and the estimate converges far too slowly to test.)"""
    mdp, alpha, horizon = random_mdp(2, n_states=4, n_actions=3), 0.5, 4
    rng = np.random.default_rng(3)
    reward = 0.1 * rng.normal(size=(4, 3))
    policy = rng.dirichlet(np.full(3, 20.0), size=4)
    first = np.array([0, 1, 1, 3])
    exact = exact_log_partition(mdp.transitions, reward, first, horizon, alpha)
    errors = []
    for n in (100, 200_000):
        states, actions = rollout(mdp.transitions, policy, first[rng.integers(4, size=n)], horizon, rng)
        log_q = torch.as_tensor(segment_log_prob(np.log(policy), states, actions))
        errors.append(abs(float(log_partition_estimate(torch.as_tensor(reward), states, actions, log_q, alpha)) - exact))
    assert errors[1] < 0.01  # a uniform first state instead of rho is off by 0.03
    assert errors[1] < errors[0]


def test_demo_segments_never_cross_batches():
    def batch(states):
        n = len(states) - 1
        return Batch(np.array(states[:-1]), np.arange(n) % 2, np.array(states[1:]), np.arange(n) == 0)
    states, actions = demo_segments((batch(list(range(8))), batch(list(range(10, 16)))), horizon=3)
    np.testing.assert_array_equal(states, [[0, 1, 2], [3, 4, 5], [10, 11, 12]])  # remainders dropped
    np.testing.assert_array_equal(actions, [[0, 1, 0], [1, 0, 1], [0, 1, 0]])


def test_gcl_is_deterministic_given_the_seed():
    mdp, alpha, data = expert_data(300)
    info = grid_info(mdp, alpha, transitions=mdp.transitions, start=mdp.start)
    method = GuidedCostLearning(GCLConfig(**GuidedCostLearning.profiles["smoke"]))
    first, second = method.fit(data, info, seed=5), method.fit(data, info, seed=5)
    np.testing.assert_array_equal(first.reward.table, second.reward.table)
    np.testing.assert_array_equal(first.policy, second.policy)
    assert not np.array_equal(first.reward.table, method.fit(data, info, seed=6).reward.table)


def test_gcl_needs_model_access():
    mdp, alpha, data = expert_data(100)
    with pytest.raises(NotApplicable, match="model access"):  # its policy step plans with the true dynamics
        GuidedCostLearning.applicable(data, grid_info(mdp, alpha, start=mdp.start, simulator=True))
    with pytest.raises(ValueError, match="start"):
        GuidedCostLearning().fit(data, grid_info(mdp, alpha, transitions=mdp.transitions), seed=0)
    with pytest.raises(ValueError, match="segment_start"):
        GCLConfig(segment_start="uniform")


def test_gcl_runs_on_a_learner_sequence():
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories", pairs_per_batch=300,
                          rng=np.random.default_rng(0))
    info = grid_info(mdp, alpha, transitions=mdp.transitions, start=mdp.start)
    result = GuidedCostLearning(GCLConfig(iterations=10)).fit(data, info, seed=0)
    assert result.reward.table.shape == (25, 4) and np.isfinite(result.reward.table).all()
    np.testing.assert_allclose(result.policy.sum(axis=1), 1.0)
