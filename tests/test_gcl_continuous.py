"""GCL's MuJoCo form: the importance weights against exact values on a small problem, the segments,
the censored densities, the needs, determinism, and an end-to-end smoke trial."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from benchmark.config import resolve
from benchmark.pipeline import run_trial
from envs.datasets import Batch, ObservationDataset
from envs.mujoco.envs import hidden_env_factory
from envs.task import Simulator, TaskInfo
from methods.base import NotApplicable
from methods.gcl import (GCLConfig, GCLContinuousConfig, GuidedCostLearning, Segments, censored_log_prob,
                         mixture_log_density, mixture_weights, sampled_log_partition, segment_bounds,
                         segment_log_density)


# ----- the importance weights on a problem with an analytic partition function --------------------
# Segments of T steps without states (one action a_t a step, no dynamics), reward
# R(tau) = -k sum_t (a_t - m)^2 and temperature alpha: Z = int exp(R / alpha) = (pi alpha / k)^(T / 2).
K, M, ALPHA, T = 1.5, 0.3, 0.7, 2
COMPONENTS = [(0.25, 0.5), (0.0, 1.0), (0.8, 0.6)]  # (mean, std): the demo density, then two pool policies


def gaussian_log_prob(mean: float, std: float):
    return lambda obs, actions: torch.distributions.Normal(mean, std).log_prob(actions).sum(dim=-1)


def draws(counts, rng) -> Segments:
    actions = np.concatenate([rng.normal(mean, std, size=(n, T, 1)) for (mean, std), n in zip(COMPONENTS, counts)])
    actions = torch.as_tensor(actions)
    return Segments(torch.zeros_like(actions), actions, torch.ones(actions.shape[:2], dtype=torch.float64))


def estimate(counts, rng) -> float:
    segments = draws(counts, rng)
    log_q = torch.stack([segment_log_density(gaussian_log_prob(*c), segments) for c in COMPONENTS], dim=1)
    weights = mixture_weights(counts[0] / sum(counts), np.array(counts[1:]))
    returns = -K * (segments.actions[..., 0] - M).pow(2).sum(dim=1)
    return float(sampled_log_partition(returns, mixture_log_density(log_q, weights), ALPHA))


def test_the_importance_sampled_log_partition_converges_to_the_analytic_one():
    exact = T / 2 * math.log(math.pi * ALPHA / K)
    rng = np.random.default_rng(0)
    small = np.mean([abs(estimate([10, 30, 20], rng) - exact) for _ in range(20)])
    large = abs(estimate([50_000, 150_000, 100_000], rng) - exact)
    assert large < 0.01
    assert large < small / 5


def test_the_mixture_weights_are_the_sources_shares_and_give_the_hand_computed_density():
    weights = mixture_weights(0.25, np.array([30, 10]))
    np.testing.assert_allclose(weights, [0.25, 0.5625, 0.1875], rtol=0, atol=1e-15)
    a = np.array([1.0, -0.4])
    log_q = torch.as_tensor(np.stack([norm.logpdf(a, mean, std) for mean, std in COMPONENTS], axis=1))
    z = torch.exp(-mixture_log_density(log_q, weights)).numpy()
    by_hand = 1.0 / (0.25 * norm.pdf(a, 0.25, 0.5) + 0.5625 * norm.pdf(a, 0.0, 1.0) + 0.1875 * norm.pdf(a, 0.8, 0.6))
    np.testing.assert_allclose(z, by_hand, rtol=1e-12)
    # no demo share: the demo density drops out of the mixture
    z_pool = torch.exp(-mixture_log_density(log_q, mixture_weights(0.0, np.array([1, 1])))).numpy()
    np.testing.assert_allclose(z_pool, 1.0 / (0.5 * norm.pdf(a, 0.0, 1.0) + 0.5 * norm.pdf(a, 0.8, 0.6)), rtol=1e-12)


def test_a_segments_log_density_sums_its_real_pairs_plus_the_per_step_unit():
    actions = torch.tensor([[[0.5], [1.0], [0.0]], [[-1.0], [0.0], [0.0]]], dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64)  # the second: one pair
    segments = Segments(torch.zeros_like(actions), actions, mask)
    value = segment_log_density(gaussian_log_prob(0.0, 1.0), segments, per_step=0.5).numpy()
    np.testing.assert_allclose(value, [norm.logpdf([0.5, 1.0, 0.0]).sum() + 1.5, norm.logpdf(-1.0) + 0.5], rtol=1e-12)


def test_an_action_on_a_bound_counts_as_the_gaussians_mass_beyond_it():
    mean, log_std = torch.zeros(1, 2), torch.log(torch.tensor([[0.5, 2.0]]))
    low, high = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    value = censored_log_prob(mean, log_std, torch.tensor([[1.0, 0.3]]), low, high)
    assert float(value) == pytest.approx(norm.logsf(1.0, 0, 0.5) + norm.logpdf(0.3, 0, 2.0), rel=1e-5)
    value = censored_log_prob(mean, log_std, torch.tensor([[-1.0, -1.0]]), low, high)
    assert float(value) == pytest.approx(norm.logcdf(-1.0, 0, 0.5) + norm.logcdf(-1.0, 0, 2.0), rel=1e-5)


def test_segments_stay_inside_episodes_and_keep_only_remainders_that_end_by_termination():
    starts = np.zeros(14, dtype=bool)
    starts[[5, 9]] = True  # episodes [0, 5) (terminates), [5, 9) (a time limit), [9, 14) (the stream ends)
    terminals = np.zeros(14, dtype=bool)
    terminals[4] = True
    assert segment_bounds(starts, terminals, 2) == [(0, 2), (2, 4), (4, 5), (5, 7), (7, 9), (9, 11), (11, 13)]
    assert segment_bounds(starts, terminals, 3) == [(0, 3), (3, 5), (5, 8), (9, 12)]


# ----- fits on Hopper ------------------------------------------------------------------------------

def hopper(simulator: bool = True) -> TaskInfo:
    make = hidden_env_factory("hopper", False)
    env = make()
    info = TaskInfo(name="hopper", track="mujoco", gamma=0.99, observation_space=env.observation_space,
                    action_space=env.action_space, simulator=Simulator(make_env=make) if simulator else None)
    env.close()
    return info


def random_demos(pairs: int = 300, seed: int = 0) -> ObservationDataset:
    """Episodes of Gaussian random actions in the hidden Hopper (they end by falling)."""
    env, rng, rows = hidden_env_factory("hopper", False)(), np.random.default_rng(seed), []
    obs, _ = env.reset(seed=seed)
    start = True
    while len(rows) < pairs:
        action = np.clip(rng.normal(0.0, 0.7, size=3), -1, 1).astype(np.float32)
        next_obs, _, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, next_obs, start, terminated))
        obs, start = (env.reset()[0], True) if terminated or truncated else (next_obs, False)
    env.close()
    obs, actions, next_obs, starts, ends = (np.array(c) for c in zip(*rows))
    return ObservationDataset((Batch(obs.astype(np.float32), actions, next_obs.astype(np.float32), starts, ends),))


def test_the_mujoco_form_needs_the_simulator_and_the_tabular_form_still_the_model():
    data = random_demos(60)
    with pytest.raises(NotApplicable, match="simulator access"):
        GuidedCostLearning.applicable(data, hopper(simulator=False))
    GuidedCostLearning.applicable(data, hopper())  # no model needed on MuJoCo
    assert GuidedCostLearning.needs_model  # the tabular form's declaration is unchanged (tests/test_gcl.py)


def test_the_same_seed_gives_the_same_reward_and_policy():
    data, info = random_demos(), hopper()
    method = GuidedCostLearning(GCLContinuousConfig(**GCLContinuousConfig.profiles["smoke"]))
    batch = data.batches[0]
    fits = [method.fit(data, info, seed=s) for s in (3, 3, 4)]
    rewards = [f.reward.function(batch.observations, batch.actions, batch.next_observations) for f in fits]
    assert rewards[0].shape == (len(batch),) and np.isfinite(rewards[0]).all()
    np.testing.assert_array_equal(rewards[0], rewards[1])
    assert not np.array_equal(rewards[0], rewards[2])
    obs = torch.as_tensor(batch.observations)
    means = [f.policy.get_distribution(obs).distribution.mean.detach().numpy() for f in fits[:2]]
    np.testing.assert_array_equal(*means)
    assert fits[0].reward.terminal_reward == 0.0
    assert fits[0].diagnostics["pool_policies"] == 2 and fits[0].diagnostics["env_steps"] == 2 * 2 * 64


def test_gcl_takes_the_continuous_settings_on_a_mujoco_task_and_the_tabular_ones_on_a_grid():
    mujoco = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "gcl"}},
                     suite="t", seed=0, profile="quick")["method"]
    grid = resolve({"task": {"name": "lfl-gridworld"}, "learner": {"name": "spi"}, "method": {"name": "gcl"}},
                   suite="t", seed=0, profile="paper")["method"]
    assert mujoco["total_timesteps"] == GCLContinuousConfig.profiles["quick"]["total_timesteps"] < \
        GCLContinuousConfig().total_timesteps and mujoco["horizon"] == 50
    assert grid == {"name": "gcl", **GCLConfig(iterations=300).__dict__}


def test_gcl_fits_hopper_end_to_end_at_the_smoke_profile(tmp_path):
    config = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "gcl"}},
                     suite="t", seed=0, profile="smoke")
    record = run_trial(config, cache_dir=tmp_path / "datasets")
    assert record["status"] == "ok", record["error"]
    assert record["track"] == "mujoco" and record["timings"]["fit_s"] > 0
    assert math.isfinite(record["metrics"]["method_policy_score"])
    assert all(math.isfinite(record["diagnostics"][k]) for k in ("reward_demo_mean", "final_loss", "ess_fraction"))
    assert record["diagnostics"]["env_steps"] == 2 * 2 * 64
