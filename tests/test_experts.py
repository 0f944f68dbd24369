"""The MuJoCo track's experts and agents: committed files checked on load, training that resumes,
normalization inside the agent (frozen when scored, never in what a method sees), the observer's
critic warm-up."""

import dataclasses
import json
import shutil
import warnings

import numpy as np
import pytest
import torch

from benchmark.config import resolve
from benchmark.observers import fit_critic, start_statistics
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.mujoco.envs import make_env
from envs.mujoco.experts import (EXPERT_DIR, ExpertError, ExpertVersionWarning, expert_hash, load_expert, read_expert,
                                 recipes, train_expert, write_expert)
from envs.mujoco.ppo import EVAL_SEED, NormalizedPolicy, ObsNormalization, PPOSettings, episode_stats, make_ppo, vec_env
from envs.registry import build_task
from methods.base import FitResult, RecoveredReward
from methods.registry import METHODS

TINY = 1024  # two updates of the reacher recipe (1 environment x 512 steps)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A reacher expert trained for two updates into a scratch folder (the committed format)."""
    where = tmp_path_factory.mktemp("experts")
    train_expert("reacher", steps=TINY, directory=where, checkpoint_dir=where / "run", progress=False,
                 eval_episodes=3, select_episodes=2)
    return where


def copy_expert(source, target, name="reacher"):
    target.mkdir(parents=True, exist_ok=True)
    for suffix in (".npz", ".json"):
        shutil.copy(source / f"{name}{suffix}", target / f"{name}{suffix}")
    return target


def test_an_expert_acts_as_the_trained_policy_does_on_normalized_observations(trained):
    expert = load_expert("reacher", directory=trained)
    info = expert.info
    assert expert.env_id == "Reacher-v4" and info["training"]["steps"] == TINY and info["evaluation"]["episodes"] == 3
    assert info["git_commit"] and {"stable-baselines3", "gymnasium", "mujoco", "seals"} <= set(info["versions"])
    # the same weights in an SB3 policy, fed VecNormalize's transform, take the same deterministic actions
    settings = PPOSettings(n_envs=1, n_steps=64, n_minibatches=1, hidden=tuple(info["architecture"]["hidden"]))
    model = make_ppo(vec_env(lambda: make_env("reacher", False), 1, seed=0), settings, seed=0)
    linears = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer, (weight, bias) in zip([*linears, model.policy.action_net], expert.layers):
            layer.weight.copy_(torch.as_tensor(weight))
            layer.bias.copy_(torch.as_tensor(bias))
    obs = np.random.default_rng(0).normal(size=(64, 11)) * 3
    sb3, _ = NormalizedPolicy(model.policy, expert.normalization).predict(obs, deterministic=True)
    ours, _ = expert.predict(obs)
    space = make_env("reacher", False).action_space
    np.testing.assert_allclose(ours, np.clip(sb3, space.low, space.high), atol=1e-5)
    np.testing.assert_array_equal(expert.act(obs[0]), ours[0])
    # and its recorded return is what it scores on the recorded episodes
    returns, _ = episode_stats(expert, lambda: make_env("reacher", False), 3, EVAL_SEED, deterministic=True)
    assert returns.mean() == pytest.approx(info["evaluation"]["mean"], rel=1e-9)


@pytest.mark.parametrize("change", ["weights", "return", "statistics"])
def test_the_loader_refuses_a_changed_file(trained, tmp_path, change):
    where = copy_expert(trained, tmp_path)
    if change == "weights":
        with np.load(where / "reacher.npz") as archive:
            arrays = {key: archive[key].copy() for key in archive.files}
        arrays["layer0.weight"][0, 0] += 1e-3
        np.savez(where / "reacher.npz", **arrays)
    else:
        info = json.loads((where / "reacher.json").read_text())
        if change == "return":
            info["evaluation"]["mean"] = 1e6
        else:
            info["normalization"]["obs_mean"][0] += 1.0
        (where / "reacher.json").write_text(json.dumps(info))
    with pytest.raises(ExpertError, match="content hash"):
        load_expert("reacher", directory=where)


def test_the_loader_refuses_a_truncated_file_and_another_tasks_expert(trained, tmp_path):
    where = copy_expert(trained, tmp_path / "cut")
    data = (where / "reacher.npz").read_bytes()
    (where / "reacher.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ExpertError, match="does not load"):
        load_expert("reacher", directory=where)
    # reacher's files under hopper's name: made for Reacher-v4, not Hopper-v4
    other = tmp_path / "moved"
    other.mkdir()
    for suffix in (".npz", ".json"):
        shutil.copy(trained / f"reacher{suffix}", other / f"hopper{suffix}")
    with pytest.raises(ExpertError, match="made for Reacher-v4 .* not for Hopper-v4"):
        load_expert("hopper", directory=other)
    with pytest.raises(ExpertError, match="no expert 'walker2d-seals'.*experts train walker2d --fixed-horizon"):
        load_expert("walker2d", fixed_horizon=True, directory=other)


def test_other_dynamics_versions_give_a_warning_not_a_refusal(trained, tmp_path):
    with np.load(trained / "reacher.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    info = json.loads((trained / "reacher.json").read_text())
    info["versions"]["mujoco"] = "0.0.1"
    write_expert(tmp_path, "reacher", arrays, {key: value for key, value in info.items() if key != "sha256"})
    with pytest.warns(ExpertVersionWarning, match="mujoco 0.0.1"):
        expert = load_expert("reacher", directory=tmp_path)
    assert expert.sha256 == expert_hash(arrays, json.loads((tmp_path / "reacher.json").read_text()))


def test_training_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    from envs.mujoco import experts

    saved = []
    original = experts._save_checkpoint

    def interrupt_after_first(model, state, directory):  # the run is stopped after its first checkpoint
        original(model, state, directory)
        saved.append(model.num_timesteps)
        raise KeyboardInterrupt

    monkeypatch.setattr(experts, "_save_checkpoint", interrupt_after_first)
    with pytest.raises(KeyboardInterrupt):
        train_expert("reacher", steps=TINY, directory=tmp_path, checkpoint_dir=tmp_path / "run", progress=False,
                     eval_episodes=2, select_episodes=2)
    assert saved == [512] and not (tmp_path / "reacher.json").exists()
    monkeypatch.setattr(experts, "_save_checkpoint", original)
    expert = train_expert("reacher", steps=TINY, directory=tmp_path, checkpoint_dir=tmp_path / "run", progress=False,
                          eval_episodes=2, select_episodes=2)
    training = expert.info["training"]
    assert training["resumed_at"] == [512] and [step for step, _ in training["selection"]["curve"]] == [512, 1024]
    # a larger budget goes on from the same run; the finished run asked again changes nothing
    longer = train_expert("reacher", steps=1536, directory=tmp_path, checkpoint_dir=tmp_path / "run", progress=False,
                          eval_episodes=2, select_episodes=2).info["training"]
    assert longer["resumed_at"] == [512, 1024] and longer["trained_steps"] == 1536
    assert [step for step, _ in longer["selection"]["curve"]] == [512, 1024, 1536]


def test_every_recipe_names_its_source_and_a_target_and_each_committed_expert_replays_its_return():
    names = recipes()
    assert set(names) == {"reacher", "hopper", "halfcheetah", "walker2d", "ant", "hopper-seals",
                          "halfcheetah-seals", "walker2d-seals", "ant-seals"}
    for name, recipe in names.items():
        assert recipe.source and recipe.target and recipe.steps >= 100_000 and recipe.settings.normalize
        if not (EXPERT_DIR / f"{name}.json").exists():
            continue  # not trained yet (`irlbench experts` lists what is committed)
        expert = load_expert(recipe.task, recipe.fixed_horizon)
        make = lambda: make_env(recipe.task, recipe.fixed_horizon)  # noqa: E731
        first, _ = episode_stats(expert, make, 1, EVAL_SEED, deterministic=True)
        assert first[0] == pytest.approx(expert.info["evaluation"]["returns"][0], rel=1e-6), name


def test_scoring_freezes_the_normalization_statistics():
    model = make_ppo(vec_env(lambda: make_env("hopper", False), 2, seed=0),
                     PPOSettings(n_envs=2, n_steps=64, n_minibatches=2, n_epochs=1), seed=0)
    model.learn(128)
    venv = model.get_vec_normalize_env()
    before = (venv.obs_rms.mean.copy(), venv.obs_rms.var.copy(), venv.obs_rms.count)
    scored = NormalizedPolicy.of(model)
    first = episode_stats(scored, lambda: make_env("hopper", False), 2, EVAL_SEED)[0]
    assert (venv.obs_rms.mean == before[0]).all() and venv.obs_rms.count == before[2]  # scoring updates nothing
    np.testing.assert_array_equal(episode_stats(scored, lambda: make_env("hopper", False), 2, EVAL_SEED)[0], first)
    model.learn(128, reset_num_timesteps=False)  # the agent's statistics move on ...
    assert not np.array_equal(venv.obs_rms.mean, before[0])
    np.testing.assert_array_equal(scored.normalization.mean, before[0])  # ... the scored copy does not
    assert ObsNormalization()(np.ones(3)).tolist() == [1.0, 1.0, 1.0]  # no statistics: the identity


def test_the_critic_warm_up_moves_the_critic_and_leaves_the_clone_as_it_was():
    model = make_ppo(vec_env(lambda: make_env("hopper", False), 2, seed=0),
                     PPOSettings(n_envs=2, n_steps=64, n_minibatches=2, n_epochs=2), seed=0)
    obs = np.random.default_rng(0).normal(loc=1.0, scale=2.0, size=(500, 11))
    start_statistics(model.get_vec_normalize_env(), obs)
    np.testing.assert_allclose(model.get_vec_normalize_env().obs_rms.mean, obs.mean(axis=0))
    actor = {k: v.clone() for k, v in model.policy.state_dict().items() if "value" not in k and "vf" not in k}
    critic = {k: v.clone() for k, v in model.policy.state_dict().items() if "value" in k or "vf" in k}
    assert fit_critic(model, 256) == 256
    np.testing.assert_allclose(model.get_vec_normalize_env().obs_rms.mean, obs.mean(axis=0))  # the actor's input too
    assert model.get_vec_normalize_env().ret_rms.count > 1  # the return's scale has learned
    state = model.policy.state_dict()
    assert all(torch.equal(state[k], v) for k, v in actor.items())
    assert any(not torch.equal(state[k], v) for k, v in critic.items())
    assert all(p.requires_grad for p in model.policy.parameters())  # the actor learns again afterwards


def smoke(task="hopper", learner="ppo", method="oracle", **task_values):
    cell = {"task": {"name": task, **task_values}, "learner": {"name": learner}, "method": {"name": method}}
    return resolve(cell, suite="test", seed=0, profile="smoke")


def test_a_method_receives_the_environments_raw_observations_and_no_reward(tmp_path, monkeypatch):
    """With the learner normalizing, the batches a method gets are the simulator's own transitions:
    stepping Hopper from each recorded state with the recorded action gives the recorded next
    observation (a normalized observation would not); and nothing it gets holds a reward."""
    config = smoke("hopper", method="lfl")
    assert config["task"]["normalize"]
    seen = {}

    def spy(self, data, info, *, seed):
        seen.update(data=data, info=info)
        return FitResult(RecoveredReward(function=lambda obs, act, nxt: np.zeros(len(obs))))

    monkeypatch.setattr(METHODS["lfl"], "fit", spy)
    record = run_trial(config, cache_dir=tmp_path / "datasets")
    assert record["status"] == "ok", record["error"]
    data, info = seen["data"], seen["info"]
    task = build_task(section_config(config, "task"))
    recorded, _ = observe_learner(config, task, tmp_path / "datasets")
    env = make_env("hopper", False).unwrapped
    env.reset(seed=0)
    checked = 0
    for batch, same in zip(data.batches, recorded.batches):
        np.testing.assert_array_equal(batch.observations, same.observations)
        for obs, action, next_obs in zip(batch.observations[:40], batch.actions[:40], batch.next_observations[:40]):
            if np.abs(obs[5:]).max() >= 10:  # Hopper clips velocities at 10 in its observations
                continue
            env.set_state(np.concatenate([[0.0], obs[:5]]), obs[5:].astype(np.float64))
            stepped, *_ = env.step(action)
            np.testing.assert_allclose(stepped, next_obs, atol=1e-4)
            checked += 1
    assert checked > 50
    assert {f.name for f in dataclasses.fields(info) if "reward" in f.name} == {"reward_features"}  # a basis only
    assert not hasattr(data, "rewards") and not any(hasattr(b, "rewards") for b in data.batches)
    assert record["versions"]["expert"].startswith("local hopper") and record["versions"]["stable-baselines3"]


def test_a_mujoco_record_names_its_stack_its_expert_and_its_normalization(tmp_path):
    record = run_trial(smoke("reacher", learner="expert", fixed_horizon=True), cache_dir=tmp_path / "datasets")
    assert record["status"] == "ok", record["error"]
    versions = record["versions"]
    for library in ("stable-baselines3", "gymnasium", "mujoco", "seals", "imitation", "ray", "torch", "numpy"):
        assert versions[library] not in ("", None), library
    assert versions["expert"].startswith("local reacher")
    assert record["config"]["task"]["normalize"] is True and record["metrics"]["observer_warmup_steps"] > 0


def test_the_experts_command_lists_every_recipe_and_refuses_an_unknown_task(capsys):
    from benchmark.cli import main

    assert main(["experts"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in recipes())
    assert main(["experts", "train", "cartpole"]) == 2
    assert "unknown MuJoCo task 'cartpole' (valid: reacher" in capsys.readouterr().err


def test_a_cached_local_expert_that_fails_its_check_is_trained_again_with_a_warning(tmp_path):
    from envs.datasets import CacheWarning
    from envs.mujoco.experts import cached_expert

    first = cached_expert("reacher", False, 512, tmp_path, eval_episodes=2)
    json_path = next(tmp_path.glob("reacher-*.json"))
    info = json.loads(json_path.read_text())
    info["evaluation"]["mean"] = 0.0
    json_path.write_text(json.dumps(info))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = cached_expert("reacher", False, 512, tmp_path, eval_episodes=2)
    assert any(issubclass(w.category, CacheWarning) and "content hash" in str(w.message) for w in caught)
    for (weight, _), (same, _) in zip(again.layers, first.layers):  # the same recipe, steps and seed: the same actor
        np.testing.assert_array_equal(weight, same)
    read_expert(tmp_path, json_path.stem, task="reacher", fixed_horizon=False)  # and the file is whole again


def test_the_observer_starts_from_exactly_the_clone_the_bc_row_scores(tmp_path):
    """After the critic's warm-up the observer's first curve point is the bc row's score: the
    warm-up changed neither the clone's weights nor its input statistics."""
    oracle = run_trial(smoke("walker2d"), cache_dir=tmp_path / "datasets")
    bc = run_trial(smoke("walker2d", method="bc"), cache_dir=tmp_path / "datasets")
    assert oracle["status"] == bc["status"] == "ok"
    assert oracle["metrics"]["observer_warmup_steps"] > 0
    assert oracle["artifacts"]["observer_curve"][0] == bc["artifacts"]["observer_curve"][0]  # both rounded alike
    assert oracle["artifacts"]["observer_curve"][0] == pytest.approx(bc["metrics"]["score"], rel=1e-5)


def test_a_mujoco_learners_scores_carry_their_standard_errors(tmp_path):
    config = smoke("hopper")
    _, reference = observe_learner(config, build_task(section_config(config, "task")), tmp_path / "datasets")
    assert reference.learner_se is not None and reference.learner_se.shape == reference.learner.shape
    assert (reference.learner_se > 0).all()  # two sampled episodes a score at smoke: a spread
    record = run_trial(config, cache_dir=tmp_path / "datasets")
    assert record["metrics"]["learner_first_se"] == pytest.approx(float(reference.learner_se[0]))
    assert record["metrics"]["learner_last_se"] == pytest.approx(float(reference.learner_se[-1]))
