"""GAIL's and AIRL's MuJoCo form: the demonstrations' episode ends, the configs (imitation's tuned
values, budgets-only profiles), determinism, and an end-to-end smoke trial of each."""

from dataclasses import fields

import numpy as np
import pytest

from benchmark.config import ConfigError, resolve
from benchmark.pipeline import run_trial
from envs.datasets import Batch, ObservationDataset
from envs.mujoco.envs import hidden_env_factory, spaces
from envs.task import Simulator, TaskInfo
from methods.adversarial import (AIRL, GAIL, TUNED, AdversarialConfig, AIRLContinuousConfig, GAILContinuousConfig,
                                 continuous_demonstrations)


def walk_batch(starts: list[int], terminals: list[int], n: int = 12) -> Batch:
    obs = np.arange(n, dtype=np.float32)[:, None]
    flags = lambda idx: np.isin(np.arange(n), idx)  # noqa: E731
    return Batch(obs, np.zeros((n, 1), np.float32), obs + 1, flags(starts), flags(terminals))


def test_continuous_demonstrations_mark_every_episode_end():
    # batch 1: episodes [0, 4) ended by termination, [4, 9) cut by a time limit, [9, 12) cut by the stream's end
    first, second = walk_batch([0, 4, 9], [3]), walk_batch([0, 6], [])
    demos = continuous_demonstrations(ObservationDataset((walk_batch([0], []), first, second)), 2)
    assert len(demos) == 24 and demos.obs.dtype == np.float32
    assert np.flatnonzero(demos.dones).tolist() == [3, 8, 11, 17, 23]
    assert np.array_equal(demos.obs[:12], first.observations)  # the last two batches, in order
    last = continuous_demonstrations(ObservationDataset((first,)), 1)
    assert np.flatnonzero(last.dones).tolist() == [3, 8, 11]


def test_the_defaults_are_imitations_tuned_hopper_values_and_every_tuned_key_is_a_field():
    for method, cls in (("gail", GAILContinuousConfig), ("airl", AIRLContinuousConfig)):
        names = {f.name for f in fields(cls)}
        defaults = cls()
        for task, values in TUNED[method].items():
            assert set(values) <= names, (method, task)
            cls(**values)  # each task's tuned set is a valid config
        assert {k: getattr(defaults, k) for k in TUNED[method]["hopper"]} == TUNED[method]["hopper"]
        assert (defaults.total_timesteps, defaults.n_envs, defaults.disc_learning_rate) == (10_000_000, 8, 1e-3)
    assert AIRLContinuousConfig().reward_inputs == "state_action"  # imitation's BasicShapedRewardNet default


def test_quick_changes_the_budget_only_and_a_round_must_fit():
    learner = {"name": "ppo", "first_update": 2, "last_update": 22, "every": 5}
    for name, cls in (("gail", GAILContinuousConfig), ("airl", AIRLContinuousConfig)):
        quick = resolve({"task": {"name": "hopper"}, "learner": learner, "method": {"name": name}},
                        suite="t", seed=0, profile="quick")["method"]
        paper = {"name": name, **cls().__dict__}
        assert {k for k in paper if quick[k] != paper[k]} == {"total_timesteps"}
        assert quick["total_timesteps"] % max(v["rollout_steps"] for v in TUNED[name].values()) == 0
    grid = resolve({"task": {"name": "lfl-gridworld"}, "learner": {"name": "spi"}, "method": {"name": "gail"}},
                   suite="t", seed=0, profile="paper")["method"]
    assert grid == {"name": "gail", **AdversarialConfig().__dict__}  # the tabular form keeps its config
    with pytest.raises(ConfigError, match="less than one round"):
        resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"},
                 "method": {"name": "airl", "total_timesteps": 4096}}, suite="t", seed=0, profile="paper")
    with pytest.raises(ConfigError, match="multiple of method.n_envs"):
        resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"},
                 "method": {"name": "gail", "rollout_steps": 4100}}, suite="t", seed=0, profile="paper")


def hopper_info() -> TaskInfo:
    observation_space, action_space = spaces("hopper", True)
    return TaskInfo(name="hopper", track="mujoco", gamma=0.99, observation_space=observation_space,
                    action_space=action_space, simulator=Simulator(make_env=hidden_env_factory("hopper", True)))


def random_demos(seed: int = 0) -> ObservationDataset:
    """256 pairs of random states and actions shaped like seals Hopper's, two 128-step episodes."""
    rng = np.random.default_rng(seed)
    info = hopper_info()
    obs = rng.normal(size=(256, *info.observation_space.shape)).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(256, *info.action_space.shape)).astype(np.float32)
    batch = Batch(obs, actions, np.roll(obs, -1, axis=0), np.arange(256) % 128 == 0, np.zeros(256, dtype=bool))
    return ObservationDataset((batch,))


@pytest.mark.parametrize("method, cls", [(GAIL, GAILContinuousConfig), (AIRL, AIRLContinuousConfig)])
def test_the_same_seed_gives_the_same_reward_and_another_seed_another(method, cls):
    cfg = cls(**cls.profiles["smoke"])
    data, info = random_demos(), hopper_info()
    probe = data.batches[0]
    values = [method(cfg).fit(data, info, seed=s).reward.function(probe.observations, probe.actions,
                                                                  probe.next_observations) for s in (3, 3, 4)]
    assert values[0].shape == (256,) and np.all(np.isfinite(values[0]))
    assert np.array_equal(values[0], values[1])
    assert not np.allclose(values[0], values[2])


def test_airl_state_only_reward_ignores_the_action_and_gail_reward_is_positive():
    data, info = random_demos(), hopper_info()
    probe = data.batches[0]
    airl = AIRL(AIRLContinuousConfig(**AIRLContinuousConfig.profiles["smoke"], reward_inputs="state_only"))
    reward = airl.fit(data, info, seed=0).reward.function
    other = np.clip(-probe.actions, -1, 1)
    assert np.array_equal(reward(probe.observations, probe.actions, probe.next_observations),
                          reward(probe.observations, other, probe.next_observations))
    gail = GAIL(GAILContinuousConfig(**GAILContinuousConfig.profiles["smoke"])).fit(data, info, seed=0)
    values = gail.reward.function(probe.observations, probe.actions, probe.next_observations)
    assert np.all(values > 0)  # softplus of the logit: -log(1 - D)
    assert hasattr(gail.policy, "predict") and gail.reward.terminal_reward == 0.0


@pytest.mark.parametrize("method", ["gail", "airl"])
def test_each_fits_a_mujoco_task_end_to_end_at_smoke(method, tmp_path):
    cfg = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": method}},
                  suite="t", seed=0, profile="smoke")
    record = run_trial(cfg, cache_dir=tmp_path / "datasets")
    assert record["status"] == "ok", record["error"]
    assert record["track"] == "mujoco" and record["diagnostics"]["rounds"] == 2
    assert np.isfinite(record["metrics"]["score"]) and np.isfinite(record["metrics"]["method_policy_score"])
    assert np.isfinite(record["diagnostics"]["reward_demo_mean"])
