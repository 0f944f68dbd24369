import numpy as np
import pytest

from envs.datasets import ObservationDataset
from envs.tabular.gpomdp import GPOMDPConfig, gpomdp_gradient, gpomdp_policies, sample_episodes, score_functions
from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner, sample_stream
from envs.tabular.patchgrid import WEIGHTS, patch_gridworld
from envs.tabular.mdp import soft_optimal_policy, soft_score
from tests.conftest import grid_info
from methods.logel import LOGEL, LOGELConfig, exact_jacobian, logits_policy


def info(mdp, **granted):
    return grid_info(mdp, 0.3, features=mdp.features, start=mdp.start, **granted)


def gpomdp_data(mdp, seed, k=30, pairs=1000):
    rng = np.random.default_rng(seed)
    policies = gpomdp_policies(mdp, 0.3, GPOMDPConfig(k=k), rng)
    return policies, ObservationDataset(tuple(sample_stream(mdp, p, pairs, rng) for p in policies))


def recovered_weights(mdp, table):
    n_f = mdp.features.shape[2]
    return np.linalg.lstsq(mdp.features.reshape(-1, n_f), table.ravel(), rcond=None)[0]


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_patch_grid_layout_and_weights():
    mdp = patch_gridworld()
    assert mdp.features.shape == (25, 4, 5) and np.allclose(mdp.features.sum(axis=2), 1.0)
    state_reward = mdp.reward[:, 0].reshape(5, 5)
    assert state_reward[4, 4] == 7 and state_reward[2, 2] == -5 and state_reward[0, 0] == -1
    assert state_reward[0, 4] == 0 and state_reward[4, 0] == -3  # R = 0, P = -3 (the code, not its docstring)
    assert mdp.transitions[24, :, 0].min() == 1.0 and mdp.transitions[12, :, 0].max() == 0.0


@pytest.mark.parametrize("horizon", [20, None])
def test_exact_jacobian_matches_finite_differences_and_gpomdp(horizon):
    mdp, rng = patch_gridworld(), np.random.default_rng(0)
    theta = 0.5 * rng.normal(size=(25, 3))

    def psi(th):  # discounted feature expectations over `horizon` steps from the start
        p = logits_policy(th)
        P_pi, f_pi = np.einsum("sa,sat->st", p, mdp.transitions), np.einsum("sa,saf->sf", p, mdp.features)
        if horizon is None:
            return np.linalg.solve((np.eye(25) - mdp.gamma * P_pi).T, mdp.start) @ f_pi
        d, total = mdp.start.copy(), 0.0
        for t in range(horizon):
            total, d = total + mdp.gamma**t * d @ f_pi, d @ P_pi
        return total

    jac = exact_jacobian(mdp.transitions, mdp.start, mdp.features, logits_policy(theta), mdp.gamma, horizon)
    eye = np.eye(75) * 1e-6
    fd = np.stack([(psi(theta + e.reshape(25, 3)) - psi(theta - e.reshape(25, 3))) / 2e-6 for e in eye])
    np.testing.assert_allclose(jac, fd, atol=1e-6)
    if horizon == 20:  # G(PO)MDP with many episodes estimates the same Jacobian
        states, actions = sample_episodes(mdp, logits_policy(theta), 20000, 20, rng)
        est = gpomdp_gradient(score_functions(logits_policy(theta), states, actions), mdp.features[states, actions], mdp.gamma)
        assert np.abs(est - jac).max() < 0.05 * np.abs(jac).max()


def test_gpomdp_learner_improves_and_is_reproducible():
    mdp = patch_gridworld()
    a = gpomdp_policies(mdp, 0.3, GPOMDPConfig(), np.random.default_rng(1))
    b = gpomdp_policies(mdp, 0.3, GPOMDPConfig(), np.random.default_rng(1))
    assert a.shape == (31, 25, 4) and np.array_equal(a, b)
    scores = [soft_score(mdp, p, 0.0) for p in a]
    assert scores[-1] > scores[0] + 5


def test_exact_policies_recover_the_weights():
    """The paper's 'exact policy parameters' setting: cos > 0.95 from the true thetas."""
    mdp = patch_gridworld()
    policies, _ = gpomdp_data(mdp, 0, pairs=1)
    fit = LOGEL().fit(ObservationDataset((), policies), info(mdp, transitions=mdp.transitions), seed=0)
    assert cosine(recovered_weights(mdp, fit.reward.table), WEIGHTS) > 0.95


def test_logel_recovers_patch_weights_from_trajectories():
    """Acceptance: 30 G(PO)MDP steps, 1000 observed pairs per policy, dynamics counted: cos > 0.9."""
    mdp = patch_gridworld()
    _, data = gpomdp_data(mdp, 0)
    fit = LOGEL().fit(data, info(mdp), seed=0)
    assert cosine(recovered_weights(mdp, fit.reward.table), WEIGHTS) > 0.9
    optimal = soft_score(mdp, soft_optimal_policy(mdp, 0.3), 0.3)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, 0.3, fit.reward.table), 0.3) < 1.5
    again = LOGEL().fit(data, info(mdp), seed=0)
    assert np.array_equal(fit.reward.table, again.reward.table)


@pytest.mark.parametrize("scale", ["logel", "unit", "behaviour"])
def test_runs_on_the_lfl_gridworld_with_spi(scale):
    mdp = lfl_gridworld()
    _, data = run_learner(mdp, 0.3, SPIConfig(k=3), observation="trajectories", pairs_per_batch=1000,
                          rng=np.random.default_rng(0))
    fit = LOGEL(LOGELConfig(scale=scale)).fit(data, info(mdp), seed=0)
    assert fit.reward.table.shape == (25, 4) and np.isfinite(fit.reward.table).all()
    if scale == "unit":
        assert np.isclose(np.linalg.norm(recovered_weights(mdp, fit.reward.table)), 1.0)


def test_config_validation():
    with pytest.raises(ValueError, match="scale"):
        LOGELConfig(scale="huge")
    with pytest.raises(ValueError, match="jacobian"):
        LOGELConfig(jacobian="reinforce")


@pytest.mark.xfail(strict=True, reason="measured: observer regret 30.7 (seed 0). LOGEL reads the reward weights "
                                       "off the policy-gradient steps between observed policies; an expert's "
                                       "batches show no step, so the weights are not identified")
def test_on_expert_demonstrations_the_observer_is_near_optimal():
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(n_batches=2), observation="trajectories", pairs_per_batch=1000,
                          rng=np.random.default_rng(0))
    fit = LOGEL().fit(data, info(mdp, transitions=mdp.transitions), seed=0)
    optimal = soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha)
    assert optimal - soft_score(mdp, soft_optimal_policy(mdp, alpha, fit.reward.table), alpha) < 0.5
