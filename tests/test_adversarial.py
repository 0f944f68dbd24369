import numpy as np
import pytest

from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_score
from envs.tabular.streams import TabularStreams
from methods.base import NotApplicable
from methods.adversarial import AIRL, GAIL, AdversarialConfig, demonstrations
from methods.adversarial_imitation import TabularVecEnv
from tests.conftest import grid_info

SMOKE = AdversarialConfig(**AIRL.profiles["smoke"])


@pytest.fixture(scope="module")
def expert():
    """2000 expert pairs of the LfL gridworld, dynamics granted."""
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, ExpertConfig(), observation="trajectories", pairs_per_batch=2000,
                          rng=np.random.default_rng(0))
    return mdp, alpha, data, grid_info(mdp, alpha, transitions=mdp.transitions)


@pytest.fixture(scope="module")
def fits(expert):
    _, _, data, info = expert
    return {cls.name: cls(SMOKE).fit(data, info, seed=0) for cls in (GAIL, AIRL)}


def regret(mdp, alpha, policy):
    return soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha) - soft_score(mdp, policy, alpha)


def test_demonstrations_are_the_last_batches_of_a_continuing_stream():
    mdp = lfl_gridworld()
    _, data = run_learner(mdp, 0.3, SPIConfig(k=3), observation="trajectories", pairs_per_batch=50,
                          rng=np.random.default_rng(0))
    demos = demonstrations(data, 2)
    np.testing.assert_array_equal(demos.obs, np.concatenate([b.observations for b in data.batches[-2:]]))
    np.testing.assert_array_equal(demos.next_obs, np.concatenate([b.next_observations for b in data.batches[-2:]]))
    assert len(demos) == 100 and not demos.dones.any()


def test_adversarial_methods_need_a_simulator(expert):
    mdp, alpha, data, _ = expert
    with pytest.raises(NotApplicable, match="simulator access"):
        AIRL.applicable(data, grid_info(mdp, alpha))
    AIRL.applicable(data, grid_info(mdp, alpha, simulator=True))  # the model is not needed
    with pytest.raises(ValueError, match="reward_scale"):
        AdversarialConfig(reward_scale="unit")


def test_outputs_are_tables_and_the_generator_imitates(expert, fits):
    """The generators learn from the discriminators: far better than uniform (regret 25.5)."""
    mdp, alpha, _, _ = expert
    for name, fit in fits.items():
        assert fit.reward.table.shape == (25, 4) and np.isfinite(fit.reward.table).all(), name
        np.testing.assert_allclose(fit.policy.sum(axis=1), 1.0, err_msg=name)
        assert regret(mdp, alpha, fit.policy) < 3.0, name


def test_airl_reward_is_state_only_and_ranks_the_goal_first(fits):
    table = fits["airl"].reward.table
    np.testing.assert_allclose(table, table[:, :1].repeat(4, axis=1))
    assert table[:, 0].argmax() == 24  # the goal cell (4, 4)


def test_same_seed_same_result(expert, fits):
    _, _, data, info = expert
    again = AIRL(SMOKE).fit(data, info, seed=0)
    np.testing.assert_array_equal(again.reward.table, fits["airl"].reward.table)
    np.testing.assert_array_equal(again.policy, fits["airl"].policy)


@pytest.mark.xfail(strict=True, reason="measured at the smoke budget: GAIL observer regret 29.0, AIRL 2.0 (seed 0)")
@pytest.mark.parametrize("name", ["gail", "airl"])
def test_observer_of_the_recovered_reward_is_near_optimal(expert, fits, name):
    mdp, alpha, _, _ = expert
    assert regret(mdp, alpha, soft_optimal_policy(mdp, alpha, fits[name].reward.table)) < 0.5


def test_vectorised_simulator_samples_the_dynamics_and_truncates():
    """TabularVecEnv draws s' ~ P(.|s, a) (frequencies within 5 sigma of the stochastic grid's row) and
    after max_episode_steps reports done, keeps s' in terminal_observation and restarts at start."""
    mdp = lfl_gridworld(stochastic=True)
    n = 20_000
    venv = TabularVecEnv(TabularStreams(mdp.transitions, mdp.start, n, 2, np.random.default_rng(0)), 25, 4)
    assert (venv.reset() == 0).all()  # the grid starts in cell 0
    venv.streams.state[:] = 12
    obs, rewards, dones, infos = venv.step(np.full(n, 1))
    freq = np.bincount(obs, minlength=25) / n
    sigma = np.sqrt(mdp.transitions[12, 1] * (1 - mdp.transitions[12, 1]) / n)
    assert (np.abs(freq - mdp.transitions[12, 1]) <= 5 * sigma + 1e-12).all()
    assert not dones.any() and not rewards.any()
    obs2, _, dones, infos = venv.step(np.zeros(n, dtype=int))
    assert dones.all() and (obs2 == 0).all()
    last = np.array([info["terminal_observation"] for info in infos])
    assert all(info["TimeLimit.truncated"] for info in infos)
    assert (mdp.transitions[obs, 0, last] > 0).all()  # each terminal observation is a legal move from s
