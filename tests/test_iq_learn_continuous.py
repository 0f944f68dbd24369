"""IQ-Learn's MuJoCo form (SB3 SAC with IQ-Learn's critic loss) at the smoke profile: end to end
online and offline, determinism, the recovered reward as Q - gamma V of the trained networks, the
loss's terms by hand, and no true reward anywhere in what the fit sees."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from benchmark.config import resolve
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.datasets import Batch, concatenate
from envs.mujoco.envs import make_env
from envs.protocol import ProtocolConfig
from envs.registry import build_task
from envs.task import Simulator
from methods.base import NotApplicable
from methods.iq_learn import IQLearn, IQLearnContinuousConfig, continuous_iq_loss, train_iq_sac
from methods.iq_learn_sac import InverseSoftBellmanReward

SMOKE = IQLearnContinuousConfig(**IQLearnContinuousConfig.profiles["smoke"])
OFFLINE = IQLearnContinuousConfig(**IQLearnContinuousConfig.profiles["smoke"], setting="offline")
FAST = dataclasses.replace(SMOKE, initial_memory=300, steps=30)  # direct fits: a shorter warm-up


def smoke_config(setting: str = "online") -> dict:
    cell = {"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "iq_learn", "setting": setting}}
    return resolve(cell, suite="test", seed=0, profile="smoke")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture(scope="module")
def hopper(cache):
    """Hopper's smoke learner dataset (its last batch has terminations) and the observer's TaskInfo."""
    config = smoke_config()
    task = build_task(section_config(config, "task"))
    dataset, reference = observe_learner(config, task, cache)
    return dataset, reference, task.info(ProtocolConfig())


@pytest.mark.parametrize("setting", ["online", "offline"])
def test_iq_learn_fits_hopper_end_to_end(setting, cache):
    record = run_trial(smoke_config(setting), cache_dir=cache)
    assert record["status"] == "ok", record["error"]
    metrics, diagnostics = record["metrics"], record["diagnostics"]
    assert all(math.isfinite(v) for v in metrics.values())
    assert "method_policy_score" in metrics  # the SAC actor's mean action, scored by the pipeline
    assert diagnostics["setting"] == setting and diagnostics["updates"] == SMOKE.steps
    # online: the initial memory, then one environment step an update; offline: no environment at all
    assert diagnostics["env_steps"] == (SMOKE.initial_memory + SMOKE.steps if setting == "online" else 0)
    assert diagnostics["loss"] == ("v0" if setting == "online" else "value_expert")  # the authors' Hopper / offline
    assert math.isfinite(diagnostics["reward_expert_mean"]) and math.isfinite(diagnostics["total_loss"])


def rewards(fit, batch: Batch) -> np.ndarray:
    return fit.reward.function(batch.observations, batch.actions, batch.next_observations)


def test_the_same_seed_gives_the_same_reward_and_the_true_reward_never_reaches_the_fit(hopper):
    dataset, reference, info = hopper
    demos = concatenate(dataset.last(1))
    first, again = (IQLearn(FAST).fit(dataset, info, seed=3) for _ in range(2))
    np.testing.assert_array_equal(rewards(first, demos), rewards(again, demos))
    assert first.reward.terminal_reward == again.reward.terminal_reward
    other = IQLearn(FAST).fit(dataset, info, seed=4)
    assert not np.array_equal(rewards(first, demos), rewards(other, demos))
    # a simulator that pays Hopper's true reward changes nothing: the replay's rewards are never read
    paying = dataclasses.replace(info, simulator=Simulator(make_env=lambda: make_env("hopper", False)))
    np.testing.assert_array_equal(rewards(first, demos), rewards(IQLearn(FAST).fit(dataset, paying, seed=3), demos))


def test_what_the_fit_sees_carries_no_reward(hopper):
    dataset, reference, info = hopper
    model = train_iq_sac(FAST, dataset, info, seed=0)
    replay = model.replay_buffer
    assert replay.full and replay.buffer_size == FAST.initial_memory + FAST.steps  # every step it took
    stored = replay.buffer_size
    assert not replay.rewards[:stored].any()  # the hidden simulator pays 0 on every step
    assert replay.dones[:stored].any()  # (Hopper's falls are in the replay as terminations)
    # the demonstrations reach the fit as these four arrays, none holding the learner's returns
    expert = model.expert
    assert set(vars(expert)) == {"observations", "actions", "next_observations", "dones"}
    for values in vars(expert).values():
        assert not np.isin(np.round(reference.learner, 3), np.round(values.numpy().astype(float), 3)).any()


def test_the_recovered_reward_is_q_minus_gamma_v_of_the_trained_networks(hopper):
    dataset, _, info = hopper
    fit = IQLearn(OFFLINE).fit(dataset, info, seed=0)
    net = fit.reward.function.net
    assert isinstance(net, InverseSoftBellmanReward)
    policy, gamma, temperature = net.policy, info.gamma, 1e-2
    demos = concatenate(dataset.last(1))
    low, high = info.action_space.low, info.action_space.high
    pick = np.flatnonzero(demos.terminals)[:2].tolist() + [0, 5, 17]  # terminating transitions and others
    obs, next_obs = (torch.as_tensor(x[pick]) for x in (demos.observations, demos.next_observations))
    scaled = torch.as_tensor(2 * (demos.actions[pick] - low) / (high - low) - 1, dtype=torch.float32)
    q_net = policy.critic.q_networks[0]  # the one critic, (obs ++ action) -> Q
    actor = policy.actor
    with torch.no_grad():
        q = q_net(torch.cat([obs, scaled], dim=1))[:, 0]
        latent = actor.latent_pi(next_obs)
        mean, log_std = actor.mu(latent), actor.log_std(latent).clamp(-20, 2)  # SB3's log-std bounds
        mode = torch.tanh(mean)  # the mean action; log pi there: Gaussian density at its mean, tanh-corrected
        log_pi = (-log_std - 0.5 * math.log(2 * math.pi) - torch.log(1 - mode**2 + 1e-6)).sum(dim=1)
        v_next = q_net(torch.cat([next_obs, mode], dim=1))[:, 0] - temperature * log_pi
    by_hand = (q - gamma * v_next).numpy()
    np.testing.assert_allclose(rewards(fit, demos)[pick], by_hand, rtol=1e-5, atol=1e-5)
    # the termination term: gamma times the mean V of the terminal observations the critic saw (offline: the demos')
    ends = torch.as_tensor(demos.next_observations[demos.terminals])
    assert len(ends) > 0
    with torch.no_grad():
        v_ends = net.value(ends)
    assert fit.reward.terminal_reward == pytest.approx(gamma * float(v_ends.mean()), rel=1e-6)
    # the method's policy: the actor's mean action in the environment's units
    unscaled = low + (mode.numpy() + 1) * (high - low) / 2
    np.testing.assert_allclose(fit.policy(demos.next_observations[pick]), unscaled, rtol=1e-5, atol=1e-6)


def test_the_loss_terms_by_hand():
    # two policy rows, then two expert rows
    q, y = torch.tensor([1.0, 2.0, 3.0, 5.0]), torch.tensor([0.5, 0.5, 1.0, 4.0])
    v_all, gamma, c = torch.tensor([2.0, 1.0, 4.0, 6.0]), 0.9, 0.5
    # the implied rewards q - y: 0.5, 1.5 (policy), 2, 1 (expert)
    cases = {  # loss, chi2_on, V rows -> (softq, value, chi2)
        ("v0", "all", v_all[2:]): (-1.5, 0.1 * 5.0, (0.25 + 2.25 + 4 + 1) / 4 / (4 * c)),
        ("value", "all", v_all): (-1.5, ((2 - 0.5) + (1 - 0.5) + (4 - 1) + (6 - 4)) / 4, 7.5 / 4 / 2),
        ("value_expert", "expert", v_all[2:]): (-1.5, ((4 - 1) + (6 - 4)) / 2, (4 + 1) / 2 / 2),
    }
    for (loss, chi2_on, v), (softq, value, chi2) in cases.items():
        total, terms = continuous_iq_loss(q, v, y, 2, gamma=gamma, chi_alpha=c, loss=loss, chi2_on=chi2_on)
        np.testing.assert_allclose(terms.numpy(), [softq, value, chi2, softq + value + chi2], rtol=1e-6)
        assert float(total) == pytest.approx(softq + value + chi2)


def test_the_settings_resolve_to_the_authors_choices_and_refuse_what_cannot_run(hopper):
    dataset, _, info = hopper
    assert IQLearnContinuousConfig().resolved("hopper") == ("v0", "all", 1e-2)
    assert IQLearnContinuousConfig().resolved("halfcheetah") == ("value", "all", 1e-2)
    assert IQLearnContinuousConfig().resolved("ant") == ("value", "all", 1e-3)
    assert IQLearnContinuousConfig(setting="offline").resolved("ant") == ("value_expert", "expert", 1e-3)
    with pytest.raises(ValueError, match="online"):
        IQLearnContinuousConfig(setting="offline", loss="value")
    quick = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "iq_learn"}},
                    suite="test", seed=0, profile="quick")["method"]
    assert quick["steps"] == 5000 and quick["setting"] == "online" and quick["actor_lr"] == 3e-5
    no_simulator = dataclasses.replace(info, simulator=None)
    with pytest.raises(NotApplicable, match="simulator"):
        IQLearn(SMOKE).fit(dataset, no_simulator, seed=0)
    assert IQLearn(IQLearnContinuousConfig(setting="offline", steps=2)).fit(dataset, no_simulator, seed=0).policy
