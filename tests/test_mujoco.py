"""The MuJoCo track at the smoke profile: tasks, the hidden-reward simulator, the recorded PPO
learner, the reward wrapper, behavioural cloning and the reference rows."""

import numpy as np
import pytest
import torch

from benchmark.config import expand, load_suite, resolve
from benchmark.observers import RecoveredRewardVecEnv, behaviour_clone
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.datasets import Batch
from envs.mujoco.envs import ENV_IDS, make_env
from envs.mujoco.ppo import PPOSettings, make_ppo, vec_env
from envs.protocol import ProtocolConfig
from envs.registry import build_task

MUJOCO_CELL = {"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "oracle"}}
TASK_FORMS = [(name, fixed) for name in ENV_IDS for fixed in (False, True)]
# what gymnasium's MuJoCo environments compute their rewards from, and put in their info dicts
REWARD_TERMS = {"reward_run", "reward_ctrl", "reward_dist", "reward_forward", "reward_survive", "forward_reward",
                "x_velocity", "y_velocity", "x_position", "y_position", "distance_from_origin"}


def smoke_config(task: str, learner: str = "ppo", method: str = "oracle", **task_values) -> dict:
    cell = {"task": {"name": task, **task_values}, "learner": {"name": learner}, "method": {"name": method}}
    return resolve(cell, suite="test", seed=0, profile="smoke")


@pytest.mark.parametrize("task, fixed", TASK_FORMS)
def test_the_simulator_an_observer_gets_hides_the_reward(task, fixed):
    config = smoke_config(task, fixed_horizon=fixed)
    info = build_task(section_config(config, "task")).info(ProtocolConfig())
    env, truth = info.simulator.make_env(), make_env(task, fixed)
    env.reset(seed=0)
    _, true_info = truth.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(30):
        action = rng.uniform(info.action_space.low, info.action_space.high).astype(np.float32)
        obs, reward, terminated, truncated, step_info = env.step(action)
        true_obs, true_reward, true_terminated, *_ , true_info = truth.step(action)
        assert reward == 0.0 and not (set(step_info) & REWARD_TERMS) and step_info == {}
        np.testing.assert_array_equal(obs, true_obs)  # the same dynamics and termination
        assert terminated == true_terminated
        if terminated or truncated:
            break
    assert set(true_info) & REWARD_TERMS  # the true environment does carry them: the test can fail
    assert info.transitions is None and info.observation_space.shape == env.observation_space.shape


def test_the_recording_round_trips_and_regenerates_identically(tmp_path):
    config = smoke_config("hopper")
    task = build_task(section_config(config, "task"))
    a, ref_a = observe_learner(config, task, tmp_path / "one" / "datasets")
    b, ref_b = observe_learner(config, task, tmp_path / "two" / "datasets")
    cached, ref_c = observe_learner(config, task, tmp_path / "one" / "datasets")
    learner = section_config(config, "learner")
    assert len(a.batches) == len(learner.observed) and len(a.batches[0]) == learner.n_steps
    for x, y, z in zip(a.batches, b.batches, cached.batches):
        for field in Batch.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(x, field), getattr(y, field))
            np.testing.assert_array_equal(getattr(x, field), getattr(z, field))
    np.testing.assert_array_equal(ref_a.learner, ref_b.learner)
    np.testing.assert_array_equal(ref_a.learner, ref_c.learner)
    # a stream: each next observation is the following row's observation, except across episodes
    for batch in a.batches:
        follows = ~batch.episode_starts[1:]
        np.testing.assert_array_equal(batch.next_observations[:-1][follows], batch.observations[1:][follows])
        space = task.info(ProtocolConfig()).action_space  # the executed actions
        assert (batch.actions >= space.low).all() and (batch.actions <= space.high).all()
    # the batches are what the environment emitted: raw observations, not normalized ones
    first = a.batches[0]
    assert first.episode_starts[0] and first.observations.dtype == np.float32
    assert np.abs(first.observations).max() > 0 and not hasattr(a, "rewards")
    other = observe_learner({**config, "seed": 1}, task, tmp_path / "one" / "datasets")[0]
    assert not np.array_equal(other.batches[0].actions, first.actions)


def test_expert_demonstrations_and_reference_scores_regenerate_identically(tmp_path):
    config = smoke_config("walker2d", learner="expert", fixed_horizon=True)
    task = build_task(section_config(config, "task"))
    tmp_path = tmp_path / "cache"  # one expert cache (tmp_path/cache/experts) for both datasets
    a, ref_a = observe_learner(config, task, tmp_path / "one" / "datasets")  # trains the expert
    torch.manual_seed(123)  # the caller's generators are in another state: nothing may depend on it
    np.random.seed(7)
    state = torch.get_rng_state()
    b, ref_b = observe_learner(config, task, tmp_path / "two" / "datasets")  # loads it (same expert cache)
    assert torch.equal(torch.get_rng_state(), state)  # and leaves the caller's generators as they were
    np.testing.assert_array_equal(a.batches[0].actions, b.batches[0].actions)
    assert (ref_a.optimal, ref_a.random) == (ref_b.optimal, ref_b.random)
    assert a.batches[0].episode_starts.sum() == section_config(config, "learner").episodes


def test_the_observers_view_of_a_continuous_learner_carries_no_rewards(tmp_path):
    config = smoke_config("halfcheetah")
    dataset, reference = observe_learner(config, build_task(section_config(config, "task")), tmp_path / "datasets")
    assert set(Batch.__dataclass_fields__) == {"observations", "actions", "next_observations", "episode_starts",
                                               "terminals"}
    assert dataset.policies is None and len(dataset.batches) == len(reference.learner)
    # no array of the observer's view holds the learner's returns (the scores travel apart)
    for batch in dataset.batches:
        for field in Batch.__dataclass_fields__:
            values = np.asarray(getattr(batch, field), dtype=float).ravel()
            assert not np.isin(np.round(reference.learner, 3), np.round(values, 3)).any()


def test_the_reward_wrapper_replaces_the_reward_and_keeps_termination():
    calls = []

    seen = []

    def reward(obs, actions, next_obs):
        calls.append(len(obs))
        seen.append((obs.copy(), actions.copy()))
        return 100.0 + next_obs[:, 0]  # a reward no environment pays

    venv = RecoveredRewardVecEnv(vec_env(lambda: make_env("hopper", False), 3, seed=0), reward)
    truth = vec_env(lambda: make_env("hopper", False), 3, seed=0)
    obs, true_obs = venv.reset(), truth.reset()
    np.testing.assert_array_equal(obs, true_obs)
    ended = 0
    for _ in range(200):
        actions = np.full((3, 3), 1.0, dtype=np.float32)  # a hopper pushed hard falls within the window
        before = obs
        obs, rewards, dones, infos = venv.step(actions)
        # the reward is asked about the step just taken: from the observation it started in
        # (after an automatic reset, the new episode's first one), with the actions taken
        np.testing.assert_allclose(seen[-1][0], before, rtol=1e-6)
        np.testing.assert_array_equal(seen[-1][1], actions)
        true_obs, true_rewards, true_dones, true_infos = truth.step(actions)
        np.testing.assert_array_equal(dones, true_dones)
        next_obs = np.array([i["terminal_observation"] if d else o for o, d, i in zip(obs, dones, infos)])
        np.testing.assert_allclose(rewards, 100.0 + next_obs[:, 0], rtol=1e-6)
        ended += int(dones.sum())
    assert ended > 0 and calls == [3] * 200  # once per vectorized step, on the whole batch


def test_a_behavioural_clone_reproduces_a_known_gaussian_policys_mean_action():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(4000, 11)).astype(np.float32)
    weights = rng.normal(scale=0.3, size=(11, 3))
    mean = np.tanh(obs @ weights) * 0.5
    actions = (mean + 0.1 * rng.normal(size=mean.shape)).astype(np.float32)
    batch = Batch(obs, actions, obs, np.zeros(len(obs), dtype=bool))
    torch.manual_seed(0)
    model = make_ppo(vec_env(lambda: make_env("hopper", False), 1, seed=0), PPOSettings(n_envs=1, n_steps=64,
                                                                                          n_minibatches=1), seed=0)
    behaviour_clone(model.policy, batch, steps=3000, seed=0, batch_size=256)
    test = rng.normal(size=(500, 11)).astype(np.float32)
    with torch.no_grad():
        cloned = model.policy.get_distribution(torch.as_tensor(test)).distribution
    error = np.abs(cloned.mean.numpy() - np.tanh(test @ weights) * 0.5)
    assert error.mean() < 0.05, error.mean()  # the means' scale is 0.5: a bad clone is off by ~0.3
    assert cloned.stddev.numpy().mean() < 0.2  # from SB3's initial 1.0 towards the true 0.1


def test_the_reference_rows_run_on_both_protocols(tmp_path):
    configs = expand(load_suite("mujoco-references"), seeds=1, profile="smoke")
    picked = [c for c in configs if c["task"]["name"] == "hopper"]
    assert {(c["learner"]["name"], c["method"]["name"]) for c in picked} == \
        {("ppo", "oracle"), ("ppo", "bc"), ("expert", "oracle"), ("expert", "bc")}
    for config in picked:
        record = run_trial(config, cache_dir=tmp_path / "datasets")
        assert record["status"] == "ok", record["error"]
        assert record["track"] == "mujoco"
        assert record["source"] == ("expert" if config["learner"]["name"] == "expert" else "sequence")
        curve, steps = record["artifacts"]["observer_curve"], record["artifacts"]["observer_curve_steps"]
        assert len(curve) == len(steps) and curve[-1] == pytest.approx(record["metrics"]["score"], rel=1e-5)
        assert (steps[-1] == 0) == (config["method"]["name"] == "bc")
        if config["learner"]["name"] == "expert":
            assert config["task"]["fixed_horizon"]


def test_a_tabular_method_on_a_mujoco_task_is_n_a_with_its_reason(tmp_path):
    record = run_trial(smoke_config("reacher", method="maxent"), cache_dir=tmp_path / "datasets")
    assert record["status"] == "n/a" and "tabular" in record["error"]


def test_learners_of_the_other_track_are_config_errors():
    from benchmark.suite_files import ConfigError

    with pytest.raises(ConfigError, match="for a mujoco task"):
        smoke_config("hopper", learner="spi")
    with pytest.raises(ConfigError, match="for a tabular task"):
        resolve({"task": {"name": "lfl-gridworld"}, "learner": {"name": "ppo"}, "method": {"name": "lfl"}},
                suite="test", seed=0, profile="smoke")


@pytest.mark.parametrize("profile", ["smoke", "quick", "paper"])
def test_every_packaged_suite_resolves_at_every_profile(profile):
    from benchmark.suite_files import suite_names

    for name in suite_names():
        assert expand(load_suite(name), seeds=1, profile=profile)


def test_a_mujoco_suite_runs_from_the_command_line_on_ray(tmp_path, monkeypatch):
    from benchmark.cli import main
    from benchmark.store import ResultsStore

    monkeypatch.setenv("IRLBENCH_CACHE", str(tmp_path / "cache"))
    code = main(["run", "mujoco-references", "--profile", "smoke", "--store", str(tmp_path / "store"), "--no-progress",
                 "--set", "task.name=reacher"])
    assert code == 0
    records = ResultsStore(tmp_path / "store").records()
    assert {(r["learner"], r["method"], r["status"]) for r in records} == \
        {("ppo", "oracle", "ok"), ("ppo", "bc", "ok"), ("expert", "oracle", "ok"), ("expert", "bc", "ok")}


def test_a_protocol_a_mujoco_task_cannot_have_is_a_config_error():
    from benchmark.suite_files import ConfigError

    with pytest.raises(ConfigError, match="no transition model"):
        resolve({**MUJOCO_CELL, "protocol": {"grant_dynamics": True}}, suite="test", seed=0, profile="smoke")
    with pytest.raises(ConfigError, match="observed through trajectories"):
        resolve({**MUJOCO_CELL, "protocol": {"observation": "policies"}}, suite="test", seed=0, profile="smoke")


def test_set_task_name_to_another_track_keeps_only_the_new_tracks_learner_keys():
    cell = {"task": {"name": "lfl-gridworld"}, "learner": {"name": "expert", "n_batches": 2}, "method": {"name": "bc"}}
    config = resolve(cell, suite="test", seed=0, profile="smoke", overrides=[("task.name", "hopper")])
    assert config["learner"] == {"name": "expert", "episodes": 1}  # the MuJoCo expert's keys, at smoke
