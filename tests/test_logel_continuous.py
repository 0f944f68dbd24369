"""LOGEL's continuous form: the linear-Gaussian clone and its score function, recovery of a known
reward from an exact linear-Gaussian gradient learner, the n/a cell, and a MuJoCo task end to end.
The tabular form's own tests are tests/test_logel.py."""

import numpy as np
import pytest
from gymnasium.spaces import Box

from benchmark.config import resolve
from benchmark.pipeline import build_task, observe_learner, run_trial, section_config
from envs.datasets import Batch, ObservationDataset
from envs.task import TaskInfo
from methods.base import NotApplicable
from methods.logel import LOGEL, LOGELConfig, LOGELContinuousConfig, LinearGaussian, padded_episodes


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# ----- line 1: the clone and its score function ------------------------------------------------------

def gaussian_samples(n, seed, std, clip=None):
    """psi = (s0, s1, 1), s ~ N(0, 1)^2; a ~ N(0.5 s0 - 0.3 s1 + 0.2, std^2), optionally clipped."""
    rng = np.random.default_rng(seed)
    psi = np.concatenate([rng.normal(size=(n, 2)), np.ones((n, 1))], axis=1)
    a = psi @ np.array([[0.5], [-0.3], [0.2]]) + std * rng.normal(size=(n, 1))
    return psi, (a if clip is None else np.clip(a, -clip, clip))


@pytest.mark.parametrize("clipped_actions", ["density", "censored"])
def test_the_clone_recovers_a_known_linear_gaussian_and_censoring_undoes_clipping(clipped_actions):
    psi, a = gaussian_samples(20000, 0, std=0.8, clip=0.6)
    assert (np.abs(a) >= 0.6).mean() > 0.3  # much of the mass is on the bounds
    bounds = None if clipped_actions == "density" else (np.array([-0.6]), np.array([0.6]))
    clone = LinearGaussian.clone(psi, a, LOGELContinuousConfig(clipped_actions=clipped_actions), bounds)
    if clipped_actions == "censored":
        np.testing.assert_allclose(clone.weights[:, 0], [0.5, -0.3, 0.2], atol=0.03)
        assert np.exp(clone.log_std[0]) == pytest.approx(0.8, rel=0.03)
    else:  # read as densities, clipping looks like a narrower policy with a flatter mean
        assert np.exp(clone.log_std[0]) < 0.6 and abs(clone.weights[0, 0]) < 0.45


@pytest.mark.parametrize("bounded", [False, True])
def test_the_closed_form_scores_are_the_log_likelihood_gradient(bounded):
    """grad_theta ln pi(a|s), theta = (W, log_std), against central finite differences of the
    (censored) log-likelihood, at clipped and unclipped actions."""
    from scipy.stats import norm

    psi, a = gaussian_samples(50, 1, std=0.8, clip=0.6)
    low, high = np.array([-0.6]), np.array([0.6])
    policy = LinearGaussian(np.array([[0.4], [-0.2], [0.1]]), np.array([-0.3]), True, (low, high) if bounded else None)

    def log_likelihood(theta):
        mean, std = psi @ theta[:3].reshape(3, 1), np.exp(theta[3:])
        density = norm.logpdf(a, mean, std)
        if bounded:
            density = np.where(a >= high, norm.logcdf((mean - high) / std),
                               np.where(a <= low, norm.logcdf((low - mean) / std), density))
        return density.sum(axis=1)

    theta, eps = policy.theta, 1e-6
    numeric = np.stack([(log_likelihood(theta + e) - log_likelihood(theta - e)) / (2 * eps)
                        for e in np.eye(4) * eps], axis=1)
    np.testing.assert_allclose(policy.scores(psi, a), numeric, atol=1e-5)


def test_episodes_are_cut_at_their_starts_and_zero_padded():
    starts = np.array([1, 0, 0, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    batch = Batch(np.zeros((10, 1)), np.zeros((10, 1)), np.zeros((10, 1)), starts)
    (steps,) = padded_episodes(batch, np.arange(1, 11, dtype=float)[:, None])
    np.testing.assert_array_equal(steps[..., 0], [[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 10]])


# ----- a hand-solvable case: an exact linear-Gaussian gradient learner ---------------------------------
# States s ~ N(0, I_2), independent of the actions, in episodes of H steps; a ~ N(theta_1 s_1 + theta_2 s_2
# + theta_3, sigma^2); features phi = (a s_1, a s_2, a, -a^2). The discounted feature expectations are
# c (theta_1, theta_2, theta_3, -(|theta|^2 + sigma^2)), c = sum_{t<H} gamma^t, so J(theta, log sigma) has
# a closed form and the learner below climbs w* . psi exactly.
W_STAR = np.array([1.0, -0.5, 0.3, 0.5])
H, GAMMA = 10, 0.9


def toy_features(obs, actions, next_obs):
    a = actions[:, 0]
    return np.stack([a * obs[:, 0], a * obs[:, 1], a, -(a**2)], axis=1)


def exact_jacobian(theta):  # rows: theta_1, theta_2, theta_3, log sigma
    c = (1 - GAMMA**H) / (1 - GAMMA)
    jac = np.zeros((4, 4))
    jac[:3, :3] = np.eye(3)
    jac[:3, 3] = -2 * theta[:3]
    jac[3, 3] = -2 * np.exp(2 * theta[3])
    return c * jac


def gradient_learner_data(seed, batches=6, episodes=300):
    rng = np.random.default_rng(seed)
    n = episodes * H
    states = rng.normal(size=(batches, n, 2))
    pooled = states.reshape(-1, 2)
    states = (states - pooled.mean(axis=0)) / pooled.std(axis=0)  # the clone's standardization is then exact
    theta, out = np.zeros(4), []
    for k, lr in zip(range(batches), [0.02, 0.03, 0.015, 0.025, 0.02, 0.02]):
        s = states[k]
        a = s @ theta[:2] + theta[2] + np.exp(theta[3]) * rng.normal(size=n)
        starts = np.arange(n) % H == 0
        out.append(Batch(s.astype(np.float32), a[:, None].astype(np.float32), np.roll(s, -1, axis=0).astype(np.float32),
                         starts, np.zeros(n, dtype=bool)))
        theta = theta + lr * exact_jacobian(theta) @ W_STAR
    return ObservationDataset(tuple(out))


TOY = TaskInfo(name="toy", track="mujoco", gamma=GAMMA, observation_space=Box(-np.inf, np.inf, (2,)),
               action_space=Box(-20.0, 20.0, (1,)), reward_features=toy_features,
               feature_names=("s1a", "s2a", "a", "a2"))


@pytest.mark.parametrize("seed", [0, 1])
def test_logel_recovers_the_reward_of_an_exact_linear_gaussian_gradient_learner(seed):
    data = gradient_learner_data(seed)
    fit = LOGEL(LOGELContinuousConfig()).fit(data, TOY, seed=0)
    w = np.array([fit.diagnostics[f"w_{name}"] for name in TOY.feature_names])
    assert cosine(w, W_STAR) > 0.95
    assert fit.diagnostics["explained"] > 0.8  # the learner model fits its updates
    # the reward is w . phi
    batch = data.batches[0]
    np.testing.assert_allclose(fit.reward.function(batch.observations, batch.actions, batch.next_observations),
                               toy_features(batch.observations, batch.actions, batch.next_observations) @ w, rtol=1e-5)
    assert fit.policy is None


def test_one_observed_policy_is_not_applicable():
    data = gradient_learner_data(0, batches=1)
    LOGEL.applicable(data, TOY)  # the track and the observations are LOGEL's: only the data size is not
    with pytest.raises(NotApplicable, match="at least two observed policies"):
        LOGEL(LOGELContinuousConfig()).fit(data, TOY, seed=0)


# ----- configs and a MuJoCo task end to end ----------------------------------------------------------

def test_logel_takes_the_continuous_settings_on_a_mujoco_task_and_the_tabular_ones_on_a_grid():
    mujoco = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "logel"}},
                     suite="t", seed=0, profile="paper")["method"]
    grid = resolve({"task": {"name": "patch-gridworld"}, "learner": {"name": "gpomdp"}, "method": {"name": "logel"}},
                   suite="t", seed=0, profile="paper")["method"]
    assert mujoco == {"name": "logel", **LOGELContinuousConfig().__dict__}
    assert grid == {"name": "logel", **LOGELConfig().__dict__}


@pytest.fixture(scope="module")
def smoke_hopper(tmp_path_factory):
    cache = tmp_path_factory.mktemp("logel") / "datasets"
    config = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "logel"}},
                     suite="t", seed=0, profile="smoke")
    return config, cache


def test_logel_fits_hopper_end_to_end_at_the_smoke_profile(smoke_hopper):
    config, cache = smoke_hopper
    record = run_trial(config, cache_dir=cache)
    assert record["status"] == "ok", record["error"]
    assert record["track"] == "mujoco" and record["timings"]["fit_s"] > 0
    weights = [record["diagnostics"][f"w_{name}"] for name in ("forward", "alive", "action")]
    assert np.all(np.isfinite(weights)) and np.linalg.norm(weights) > 0
    assert np.isfinite(record["metrics"]["score"])


def test_the_same_seed_gives_the_same_reward(smoke_hopper):
    config, cache = smoke_hopper
    task = build_task(section_config(config, "task"))
    data, _ = observe_learner(config, task, cache)
    info = task.info(section_config(config, "protocol"))
    batch = data.batches[-1]
    rewards = [LOGEL(LOGELContinuousConfig(policy_features="fourier")).fit(data, info, seed=3).reward.function(
        batch.observations, batch.actions, batch.next_observations) for _ in range(2)]
    np.testing.assert_array_equal(rewards[0], rewards[1])
    assert np.all(np.isfinite(rewards[0])) and rewards[0].std() > 0
