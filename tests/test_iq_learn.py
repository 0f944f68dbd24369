import dataclasses

import numpy as np
import pytest
import torch

from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_score
from methods.iq_learn import IQLearn, IQLearnConfig, iq_loss, soft_value
from tests.conftest import grid_info, random_mdp

SMOKE = IQLearnConfig(**IQLearn.profiles["smoke"])


def expert_data(mdp, pairs, seed, n_batches=1):
    return run_learner(mdp, 0.3, ExpertConfig(n_batches=n_batches), observation="trajectories",
                       pairs_per_batch=pairs, rng=np.random.default_rng(seed))[1]


@pytest.mark.parametrize("granted", [True, False])
def test_iq_learn_imitates_an_expert_at_smoke_budget(granted):
    """Expert demonstrations of the LfL gridworld: the observer of the recovered reward has regret < 0.5."""
    mdp, alpha = lfl_gridworld(), 0.3
    data = expert_data(mdp, 1000, seed=0)
    info = grid_info(mdp, alpha, **({"transitions": mdp.transitions} if granted else {}))
    reward = IQLearn(SMOKE).fit(data, info, seed=0).reward.table
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) < 0.5


def test_recovered_reward_makes_the_q_policy_soft_optimal():
    """Inverse soft Bellman identity: with the true dynamics, the soft-optimal policy of
    r = Q - gamma P V_Q at the task's alpha is exactly the method's policy softmax(Q / alpha)."""
    mdp, alpha = random_mdp(3, n_states=6, n_actions=3), 0.5
    data = expert_data(mdp, 300, seed=1)
    result = IQLearn(SMOKE).fit(data, grid_info(mdp, alpha, transitions=mdp.transitions), seed=0)
    assert np.abs(result.policy - 1.0 / 3).max() > 0.05  # Q actually learned something
    np.testing.assert_allclose(soft_optimal_policy(mdp, alpha, result.reward.table), result.policy, atol=1e-9)


def test_weighted_loss_equals_the_authors_per_transition_loss():
    """The count-weighted full-batch loss is the authors' iq_loss (chi^2, value_expert) averaged
    over the raw transitions: -phi(Q - gamma V') + V - gamma V', phi(x) = x - x^2 / (4 * 0.5)."""
    rng = np.random.default_rng(0)
    q = torch.as_tensor(rng.normal(size=(5, 3)))
    s, a, s2 = rng.integers(0, 5, 40), rng.integers(0, 3, 40), rng.integers(0, 5, 40)
    gamma, temp = 0.9, 0.3
    v = temp * np.log(np.exp(q.numpy() / temp).sum(axis=1))
    x = q.numpy()[s, a] - gamma * v[s2]
    expected = np.mean(-(x - x**2 / 2.0) + v[s] - gamma * v[s2])
    counts = np.zeros((5, 3, 5))
    np.add.at(counts, (s, a, s2), 1.0)
    idx = np.nonzero(counts)
    weights = torch.as_tensor(counts[idx] / counts.sum())
    loss, _ = iq_loss(q, *(torch.as_tensor(i) for i in idx), weights, gamma=gamma, temperature=temp,
                      chi_alpha=0.5, loss="value_expert")
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(soft_value(q, temp).numpy(), v, rtol=1e-12)


@pytest.mark.parametrize("batch_size", [0, 16])
def test_same_seed_same_result(batch_size):
    mdp = lfl_gridworld()
    data = expert_data(mdp, 200, seed=0)
    method = IQLearn(dataclasses.replace(SMOKE, steps=50, batch_size=batch_size))
    one, two = (method.fit(data, grid_info(mdp), seed=7) for _ in range(2))
    np.testing.assert_array_equal(one.reward.table, two.reward.table)
    np.testing.assert_array_equal(one.policy, two.policy)
    if batch_size:  # minibatches are drawn from the seed
        other = method.fit(data, grid_info(mdp), seed=8)
        assert not np.array_equal(one.reward.table, other.reward.table)


def test_runs_on_a_learner_using_the_last_batch_only():
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories", pairs_per_batch=300,
                          rng=np.random.default_rng(0))
    result = IQLearn(SMOKE).fit(data, grid_info(mdp, alpha), seed=0)
    assert np.isfinite(result.reward.table).all() and result.reward.table.shape == (25, 4)
    last_only = IQLearn(SMOKE).fit(type(data)(batches=data.batches[-1:]), grid_info(mdp, alpha, transitions=None), seed=0)
    # the Q fit sees only the last batch; the estimated dynamics use every batch, so compare policies
    np.testing.assert_array_equal(result.policy, last_only.policy)


@pytest.mark.parametrize("field, value", [("loss", "value"), ("chi_alpha", 0.0), ("temperature", -1.0),
                                          ("demo_batches", 0), ("lr", 0.0)])
def test_invalid_config_is_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        IQLearnConfig(**{field: value})
