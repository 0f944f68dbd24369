import numpy as np

from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_score
from methods.base import transition_counts
from methods.maxent import MaxEntConfig, MaxEntIRL, demonstration_log_likelihood
from tests.conftest import grid_info, random_mdp


def test_likelihood_gradient_matches_finite_differences():
    mdp, alpha = random_mdp(0, n_states=5, n_actions=3), 0.5
    features = np.random.default_rng(1).normal(size=(5, 3, 4))
    counts = np.random.default_rng(2).integers(0, 5, size=(5, 3)).astype(float)
    theta = np.random.default_rng(3).normal(size=4)
    _, gradient, _ = demonstration_log_likelihood(theta, mdp, features, counts, alpha)
    eps = 1e-6
    numeric = [(demonstration_log_likelihood(theta + eps * e, mdp, features, counts, alpha)[0]
                - demonstration_log_likelihood(theta - eps * e, mdp, features, counts, alpha)[0]) / (2 * eps)
               for e in np.eye(4)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)


def test_maxent_with_known_dynamics_recovers_an_expert_reward():
    """Expert demonstrations of the LfL gridworld: the observer's regret goes to ~0 with data."""
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(), observation="trajectories", pairs_per_batch=10_000,
                          rng=np.random.default_rng(0))
    info = grid_info(mdp, alpha, transitions=mdp.transitions, features=mdp.features)
    reward = MaxEntIRL().fit(data, info, seed=0).reward.table
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) < 0.05


def test_maxent_uses_only_the_last_demo_batches():
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(n_batches=3), observation="trajectories", pairs_per_batch=200,
                          rng=np.random.default_rng(0))
    assert transition_counts(data, 25, 4).shape[0] == 3
    info = grid_info(mdp, alpha, transitions=mdp.transitions, features=mdp.features)
    one = MaxEntIRL(MaxEntConfig(demo_batches=1)).fit(data, info, seed=0).reward.table
    last_only = MaxEntIRL().fit(type(data)(batches=data.batches[-1:]), info, seed=0).reward.table
    np.testing.assert_array_equal(one, last_only)
