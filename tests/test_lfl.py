import numpy as np
import pytest

from envs.datasets import ObservationDataset
from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_policy_improvement, soft_score, uniform_policy
from methods.base import NotApplicable
from methods.lfl import LfL, LfLConfig, inverted_improvement_rewards
from tests.conftest import grid_info, random_mdp


@pytest.mark.parametrize("seed", range(5))
def test_theorem2_recovers_the_soft_optimal_policy_on_random_stochastic_mdps(seed):
    mdp, alpha = random_mdp(seed), 0.4
    pi1 = np.random.default_rng(seed + 100).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)
    pi2 = soft_policy_improvement(mdp, pi1, alpha)
    r_bar = inverted_improvement_rewards(np.stack([pi1, pi2]), mdp.transitions, mdp.gamma, alpha)[0]
    assert not np.allclose(r_bar, mdp.reward)  # a shaped reward, not the true one
    np.testing.assert_allclose(soft_optimal_policy(mdp, alpha, r_bar), soft_optimal_policy(mdp, alpha), atol=1e-9)
    # ... and it explains the observed improvement itself.
    np.testing.assert_allclose(soft_policy_improvement(mdp, pi1, alpha, r_bar), pi2, atol=1e-9)


def exact_fit(mdp, alpha, config, k=1):
    policies, dataset = run_learner(mdp, alpha, SPIConfig(k=k), observation="policies", pairs_per_batch=1,
                                    rng=np.random.default_rng(0))
    info = grid_info(mdp, transitions=mdp.transitions)
    return policies, LfL(config).fit(dataset, info, seed=0).reward.table


@pytest.mark.parametrize("stochastic", [False, True])
@pytest.mark.parametrize("form", ["state_action", "state_only"])
def test_table1_observer_regret_is_zero(stochastic, form):
    mdp, alpha = lfl_gridworld(stochastic=stochastic), 0.3
    _, reward = exact_fit(mdp, alpha, LfLConfig(alpha_model=alpha, solver="exact", reward_form=form))
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) < 1e-9


def test_state_only_regression_recovers_the_true_reward_up_to_a_constant():
    """Section 4.3 on a deterministic MDP: r_bar_phi = r + c (Fig. 3, bottom)."""
    mdp, alpha = lfl_gridworld(), 0.3
    _, reward = exact_fit(mdp, alpha, LfLConfig(alpha_model=alpha, solver="exact", reward_form="state_only"))
    offset = reward - mdp.reward
    np.testing.assert_allclose(offset, offset[0, 0], atol=1e-8)


def test_gradient_solver_reaches_the_least_squares_optimum():
    """Algorithm 1's Adam regression and the exact least-squares solve agree on the observer."""
    mdp, alpha = lfl_gridworld(), 0.3
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    _, reward = exact_fit(mdp, alpha, LfLConfig(alpha_model=alpha, solver="adam", reward_steps=3000,
                                                reward_lr=0.1), k=3)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) < 1e-3


def test_algorithm1_from_trajectories_is_bit_for_bit_reproducible():
    mdp, alpha = lfl_gridworld(), 0.3
    info = grid_info(mdp)

    def fit():
        _, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories", pairs_per_batch=500,
                              rng=np.random.default_rng(7))
        return LfL().fit(data, info, seed=3).reward.table

    assert np.array_equal(fit(), fit())


def test_consistency_regression_over_several_exact_improvements_recovers_the_optimum():
    """Eq. (5) with one shaping per improvement: K=3 exact SPI steps, one consistent reward."""
    mdp, alpha = lfl_gridworld(stochastic=True), 0.3
    _, reward = exact_fit(mdp, alpha, LfLConfig(alpha_model=alpha), k=3)
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) < 1e-8


def test_algorithm1_from_1000_pairs_beats_the_spi_learner():
    """The paper's central claim on its own learner (Table 2, SPI row), over three seeds."""
    mdp, alpha = lfl_gridworld(), 0.3
    info = grid_info(mdp)
    gains = []
    for seed in range(3):
        policies, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories",
                                     pairs_per_batch=1000, rng=np.random.default_rng(seed))
        reward = LfL().fit(data, info, seed=seed).reward.table
        gains.append(soft_score(mdp, soft_optimal_policy(mdp, alpha, reward), alpha) - soft_score(mdp, policies[-1], alpha))
    assert min(gains) > 0


def test_pessimism_keeps_the_observer_on_observed_pairs():
    """Reward entries no residual constrains get the lowest constrained reward."""
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories", pairs_per_batch=300,
                          rng=np.random.default_rng(0))
    fit = LfL().fit(data, grid_info(mdp), seed=0)
    seen = np.zeros((25, 4), dtype=bool)
    for batch in data.batches:
        seen[batch.observations, batch.actions] = True
    assert fit.diagnostics["unconstrained_pairs"] == (~seen).sum() > 0
    assert np.all(fit.reward.table[~seen] == fit.reward.table.min())


def test_bad_config_values_are_rejected():
    with pytest.raises(ValueError, match="solver"):
        LfLConfig(solver="newton")
    with pytest.raises(NotApplicable, match="two observed policies"):
        mdp = lfl_gridworld()
        info = grid_info(mdp, transitions=mdp.transitions)
        LfL().fit(ObservationDataset(batches=(), policies=uniform_policy(25, 4)[None]), info, seed=0)


def expert_regret(config):
    """Observer regret of LfL's reward from 2 x 1000 expert pairs of the LfL gridworld (seed 0)."""
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(n_batches=2), observation="trajectories", pairs_per_batch=1000,
                          rng=np.random.default_rng(0))
    reward = LfL(config).fit(data, grid_info(mdp, alpha, transitions=mdp.transitions), seed=0).reward.table
    return soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha) - soft_score(
        mdp, soft_optimal_policy(mdp, alpha, reward), alpha)


def test_on_expert_demonstrations_with_the_true_temperature_the_observer_is_near_optimal():
    """No improvement to invert: the reward is alpha_model log pi_hat plus shaping, whose soft-optimal
    policy at alpha = alpha_model is pi_hat itself (measured regret 0.35, seed 0)."""
    assert expert_regret(LfLConfig(alpha_model=0.3)) < 0.5


@pytest.mark.xfail(strict=True, reason="measured: regret 0.66 (seed 0) at the default alpha_model 0.7, 7/3 times "
                                       "the task's alpha: the reward is too sharp for an observer at alpha 0.3")
def test_on_expert_demonstrations_the_default_observer_is_near_optimal():
    assert expert_regret(LfLConfig()) < 0.5
