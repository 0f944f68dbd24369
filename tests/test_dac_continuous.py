"""DAC's continuous form (SB3 TD3 generator, gradient-penalty discriminator, absorbing states): the
absorbing-state wrapper on synthetic episode ends, the authors' expert subsampling, the critic's
absorbing state, a trial end to end at the smoke profile, determinism, and no true reward in the fit."""

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box

from benchmark.config import resolve
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.datasets import Batch
from envs.mujoco.envs import make_env
from envs.protocol import ProtocolConfig
from envs.registry import build_task
from envs.task import Simulator
from methods.dac import (DAC, DACConfig, DACContinuousConfig, absorbing_pairs, autograd_input_gradient,
                         discriminator_loss, expert_inputs, make_mlp_discriminator, subsample_episodes, train_dac)
from methods.dac_td3 import AbsorbingReplayBuffer, AbsorbingTD3Policy, LogitReward

CELL = {"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "dac"}}
SMOKE = DACContinuousConfig(**DACContinuousConfig.profiles["smoke"])


# ----- the absorbing-state wrapper ----------------------------------------------------------------

def test_a_terminal_step_enters_the_absorbing_state_and_a_time_limit_does_not():
    obs = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
    actions = np.array([[0.5], [-0.5], [0.25]], dtype=np.float32)
    next_obs = obs + 10.0
    terminal = np.array([False, True, False])  # step 1 ends its episode by termination; step 2 by a time limit
    o, a, o2, absorbing = absorbing_pairs(obs, actions, next_obs, terminal)
    s_abs = [0.0, 0.0, 1.0]
    np.testing.assert_array_equal(o, [[1, 2, 0], [3, 4, 0], s_abs, [5, 6, 0]])
    np.testing.assert_array_equal(a, [[0.5], [-0.5], [0.0], [0.25]])
    np.testing.assert_array_equal(o2, [[11, 12, 0], s_abs, s_abs, [15, 16, 0]])  # the time limit keeps s'
    np.testing.assert_array_equal(absorbing, [False, False, True, False])


def replay_buffer(absorbing: bool = True) -> AbsorbingReplayBuffer:
    buffer = AbsorbingReplayBuffer(10, Box(-np.inf, np.inf, (3,), np.float32), Box(-1, 1, (1,), np.float32),
                                   device="cpu", handle_timeout_termination=False)
    buffer.absorbing = absorbing
    buffer.reward_fn = lambda obs, actions: 10 * obs[:, 0] + actions[:, 0]
    return buffer


def test_the_replay_buffer_stores_terminations_as_absorbing_transitions_and_never_the_env_reward():
    buffer = replay_buffer()
    s, s2, a = np.array([[1.0, 2.0, 0.0]]), np.array([[3.0, 4.0, 0.0]]), np.array([[0.5]])
    env_reward = np.array([7.0])  # what an environment paid: never stored
    buffer.add(s, s2, a, env_reward, np.array([True]), [{}])  # termination
    buffer.add(s2, s, -a, env_reward, np.array([True]), [{"TimeLimit.truncated": True}])  # a time limit
    buffer.add(s, s2, a, env_reward, np.array([False]), [{}])  # an ordinary step
    n = buffer.size()
    assert n == 4
    np.testing.assert_array_equal(buffer.observations[:n, 0], [[1, 2, 0], [0, 0, 1], [3, 4, 0], [1, 2, 0]])
    np.testing.assert_array_equal(buffer.next_observations[:n, 0], [[0, 0, 1], [0, 0, 1], [1, 2, 0], [3, 4, 0]])
    np.testing.assert_array_equal(buffer.actions[:n, 0], [[0.5], [0.0], [-0.5], [0.5]])
    assert (buffer.dones[:n] == 0).all() and (buffer.rewards[:n] == 0).all()
    sample = buffer.sample(50)  # TD3's minibatch: rewards are reward_fn(s, a), not what was stored
    torch.testing.assert_close(sample.rewards[:, 0], 10 * sample.observations[:, 0] + sample.actions[:, 0])
    # absorbing "off": a termination is an ordinary done, nothing is added
    plain = replay_buffer(absorbing=False)
    plain.add(s, s2, a, env_reward, np.array([True]), [{}])
    assert plain.size() == 1 and plain.dones[0, 0] == 1 and plain.rewards[0, 0] == 0


def test_the_critic_ignores_the_action_in_the_absorbing_state_only():
    policy = AbsorbingTD3Policy(Box(-np.inf, np.inf, (3,), np.float32), Box(-1, 1, (2,), np.float32),
                                lambda _: 1e-3, net_arch=[16, 16])
    states = torch.tensor([[0.0, 0.0, 1.0], [0.3, -0.2, 0.0]])
    q_one = torch.cat(policy.critic(states, torch.tensor([[1.0, -1.0], [1.0, -1.0]])), dim=1)
    q_two = torch.cat(policy.critic(states, torch.tensor([[-0.5, 0.7], [-0.5, 0.7]])), dim=1)
    torch.testing.assert_close(q_one[0], q_two[0])
    assert (q_one[1] != q_two[1]).all()


# ----- the demonstrations ---------------------------------------------------------------------------

def test_expert_episodes_keep_every_20th_pair_from_a_random_offset_and_every_absorbing_row():
    starts = np.zeros(105, dtype=bool)
    starts[[0, 60]] = True  # an episode of 60 ordinary pairs, then 44 and its absorbing row (last)
    absorbing = np.zeros(105, dtype=bool)
    absorbing[-1] = True
    offsets = set()
    for seed in range(8):
        keep = subsample_episodes(starts, absorbing, 20, np.random.default_rng(seed))
        first, second = np.flatnonzero(keep[:60]), np.flatnonzero(keep[60:104])
        assert len(first) == 3 and np.all(np.diff(first) == 20) and first[0] < 20
        assert len(second) in (2, 3) and np.all(np.diff(second) == 20) and second[0] < 20
        assert keep[-1]
        offsets.add(int(first[0]))
    assert len(offsets) > 1  # the offset is drawn, not fixed


def test_expert_inputs_weigh_absorbing_rows_by_one_over_the_rate():
    rng = np.random.default_rng(0)
    n = 100
    starts, terminals = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    starts[[0, 50]], terminals[[49, 99]] = True, True
    batch = Batch(rng.normal(size=(n, 2)).astype(np.float32), rng.uniform(-2, 2, (n, 1)).astype(np.float32),
                  rng.normal(size=(n, 2)).astype(np.float32), starts, terminals)
    x, w, n_abs = expert_inputs(batch, 10, True, np.array([-2.0]), np.array([2.0]), rng)
    assert n_abs == 2 and x.shape == (10 + 2, 4)  # 5 + 5 kept pairs and both absorbing rows
    is_abs = x[:, 2] == 1
    assert is_abs.sum() == 2 and (x[is_abs] == torch.tensor([0.0, 0.0, 1.0, 0.0])).all()
    torch.testing.assert_close(w, torch.where(is_abs, 0.1, 1.0))
    assert x[~is_abs, 3].abs().max() <= 1.0  # actions scaled from [-2, 2] to [-1, 1]
    x_all, _, _ = expert_inputs(batch, 1, False, np.array([-2.0]), np.array([2.0]), rng)  # rate 1, no absorbing
    assert x_all.shape == (n, 4) and (x_all[:, 2] == 0).all()


def test_the_gradient_penalty_of_a_flat_two_layer_critic_is_lambda_and_expert_weights_scale_its_bce():
    g = torch.Generator().manual_seed(0)
    net = make_mlp_discriminator(4, 8, g)
    x_e, x_p = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    with torch.no_grad():
        net[0].weight.zero_()  # the logit no longer depends on x: |grad| = 0, penalty (0 - 1)^2
    assert autograd_input_gradient(net, x_e).abs().max() == 0
    loss, stats = discriminator_loss(net, x_e, x_p, 10.0, g, gradient=autograd_input_gradient)
    torch.testing.assert_close(loss, stats["disc_bce"] + 10.0)
    logit = net(x_e[:1]).squeeze()
    half, _ = discriminator_loss(net, x_e, x_p, 0.0, g, expert_weights=torch.full((6,), 0.5),
                                 gradient=autograd_input_gradient)
    expert_bce = torch.nn.functional.softplus(-logit)
    torch.testing.assert_close(stats["disc_bce"] - half, 0.5 * expert_bce)


# ----- fits --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hopper(tmp_path_factory):
    config = resolve(CELL, suite="test", seed=0, profile="smoke")
    cache = tmp_path_factory.mktemp("dac") / "datasets"
    task = build_task(section_config(config, "task"))
    data, _ = observe_learner(config, task, cache)
    return config, cache, data, task.info(ProtocolConfig())


@pytest.fixture(scope="module")
def fit(hopper):
    _, _, data, info = hopper
    return DAC(SMOKE).fit(data, info, seed=0)


def probe_pairs(info, n: int = 64):
    rng = np.random.default_rng(1)
    obs = rng.normal(size=(n, info.observation_space.shape[0])).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(n, info.action_space.shape[0])).astype(np.float32)
    return obs, actions, obs


def test_dac_fits_hopper_end_to_end_at_the_smoke_profile(hopper):
    config, cache, _, _ = hopper
    assert config["method"]["total_steps"] == SMOKE.total_steps and config["method"]["td3_hidden_1"] == 400
    record = run_trial(config, cache_dir=cache)
    assert record["status"] == "ok", record["error"]
    assert np.isfinite(record["metrics"]["score"]) and np.isfinite(record["metrics"]["method_policy_score"])
    d = record["diagnostics"]
    assert d["generator_steps"] == 300 and d["updates"] == 200 and d["actor_updates"] > 0
    assert d["terminal_reward"] == pytest.approx(0.99 * d["absorbing_logit"] / 0.01)


def test_the_fit_gives_a_finite_logit_reward_and_a_deterministic_bounded_policy(fit, hopper):
    info = hopper[3]
    obs, actions, next_obs = probe_pairs(info)
    rewards = fit.reward.function(obs, actions, next_obs)
    assert rewards.shape == (64,) and np.isfinite(rewards).all() and rewards.std() > 0
    assert np.isfinite(fit.reward.terminal_reward) and fit.reward.terminal_reward != 0
    acts = fit.policy(obs)
    assert acts.shape == (64, 3) and (np.abs(acts) <= 1).all()
    np.testing.assert_array_equal(acts, fit.policy(obs))


def test_the_same_seed_gives_the_same_reward_and_another_seed_another(fit, hopper):
    _, _, data, info = hopper
    again, other = DAC(SMOKE).fit(data, info, seed=0), DAC(SMOKE).fit(data, info, seed=1)
    pairs = probe_pairs(info)
    np.testing.assert_array_equal(fit.reward.function(*pairs), again.reward.function(*pairs))
    assert fit.reward.terminal_reward == again.reward.terminal_reward
    np.testing.assert_array_equal(fit.policy(pairs[0]), again.policy(pairs[0]))
    assert not np.array_equal(fit.reward.function(*pairs), other.reward.function(*pairs))


class PaysReward(gym.Wrapper):
    """A simulator that leaks: the true reward plus a constant, and the reward's terms in info."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, 1000.0 + reward, terminated, truncated, {**info, "x_velocity": 1.0}


def test_no_true_reward_reaches_the_fit(fit, hopper):
    """The demonstrations carry no reward field; what the generator stores is 0 whatever the
    environment pays; and a simulator that does pay the true reward changes nothing in the fit."""
    _, _, data, info = hopper
    assert set(Batch.__dataclass_fields__) == {"observations", "actions", "next_observations", "episode_starts",
                                               "terminals"}
    leaky = replace(info, simulator=Simulator(make_env=lambda: PaysReward(make_env("hopper", False))))
    model, _ = train_dac(SMOKE, data, leaky, seed=0)
    stored = model.replay_buffer.size()
    assert stored > SMOKE.total_steps and (model.replay_buffer.rewards[:stored] == 0).all()
    pairs = probe_pairs(info)
    low, high = info.action_space.low, info.action_space.high
    with torch.no_grad():
        leaked = LogitReward(model.discriminator.net, low, high)(*(torch.as_tensor(x) for x in pairs)).numpy()
    np.testing.assert_array_equal(leaked, fit.reward.function(*pairs))


def test_dac_takes_the_continuous_settings_on_a_mujoco_task_and_the_tabular_ones_on_a_grid():
    mujoco = resolve(CELL, suite="t", seed=0, profile="paper")["method"]
    grid = resolve({"task": {"name": "lfl-gridworld"}, "learner": {"name": "spi"}, "method": {"name": "dac"}},
                   suite="t", seed=0, profile="paper")["method"]
    assert mujoco == {"name": "dac", **DACContinuousConfig().__dict__} and mujoco["total_steps"] == 1_000_000
    assert grid == {"name": "dac", **DACConfig(total_steps=200_000).__dict__}
    assert resolve(CELL, suite="t", seed=0, profile="quick")["method"]["total_steps"] == 5_000
    with pytest.raises(ValueError, match="absorbing"):
        DACContinuousConfig(absorbing="maybe")
