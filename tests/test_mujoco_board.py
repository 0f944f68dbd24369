"""The MuJoCo board's pieces outside the methods: the reward features LOGEL is given, the suite's
per-method budgets, Table 3's same-protocol columns and the published comparisons."""

import numpy as np
import pandas as pd
import pytest

from benchmark.config import expand, load_suite, matrix_cells, resolve
from benchmark.pipeline import run_trial
from benchmark.report import ReportOptions, layout_leaderboard, layout_lfl_table3, same_observations, sections
from benchmark.store import ResultsStore
from benchmark.synthetic import synthetic_record
from envs.datasets import Batch, concatenate
from envs.mujoco.envs import make_env
from envs.mujoco.features import FEATURE_NAMES, reward_features

FAST = ReportOptions(bootstrap_reps=200, figures=False)


def random_rollout(task: str, fixed: bool, steps: int = 400):
    env = make_env(task, fixed)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    rows = []
    for _ in range(steps):
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, next_obs, reward))
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    return (np.array(column) for column in zip(*rows))


@pytest.mark.parametrize("task, fixed, floor, action_cost_shows", [
    ("reacher", False, 0.9, True), ("hopper", True, 0.999, True), ("halfcheetah", True, 0.999, True),
    ("ant", True, 0.999, True), ("hopper", False, 0.75, False), ("halfcheetah", False, 0.85, True)])
def test_the_true_reward_is_linear_in_the_task_features(task, fixed, floor, action_cost_shows):
    """The features are a basis of the reward, not the reward: least squares on random steps explains
    it exactly on the seals forms (which keep x), approximately on v4 (velocity at the step's ends)
    and on Reacher (the paper's RBFs cover offsets up to about 0.3; random arms reach 0.4)."""
    obs, actions, next_obs, reward = random_rollout(task, fixed)
    features = reward_features(task, fixed)(obs, actions, next_obs)
    assert features.shape == (len(reward), len(FEATURE_NAMES[task]))
    weights, *_ = np.linalg.lstsq(features, reward, rcond=None)
    r2 = 1 - ((features @ weights - reward) ** 2).mean() / reward.var()
    assert r2 > floor
    if action_cost_shows:  # Hopper's, 1e-3, drowns in v4's velocity error
        assert weights[-1] < 0
    if task != "reacher":
        assert weights[0] > 0.8  # forward velocity


def test_concatenated_batches_keep_order_starts_and_terminals():
    a = Batch(np.zeros((2, 1)), np.zeros((2, 1)), np.ones((2, 1)), np.array([True, False]), np.array([False, True]))
    b = Batch(np.ones((3, 1)), np.ones((3, 1)), np.ones((3, 1)), np.array([True, False, False]))
    both = concatenate([a, b])
    assert len(both) == 5 and both.observations[:, 0].tolist() == [0, 0, 1, 1, 1]
    assert both.episode_starts.tolist() == [True, False, True, False, False]
    assert both.terminals.tolist() == [False, True, False, False, False]  # b records none: not terminal


def test_a_matrix_preset_scales_its_own_values_per_profile_only():
    cells = matrix_cells({"method": [{"name": "gail", "profiles": {"quick": {"total_timesteps": 7}}}, {"name": "bc"}]},
                         [{"task": {"name": "hopper"}, "profiles": {"quick": {"learner": {"last_update": 9}}}}])
    gail, bc = cells
    assert gail["method"] == {"name": "gail"} and gail["profiles"]["quick"] == {
        "learner": {"last_update": 9}, "method": {"total_timesteps": 7}}
    assert "method" not in bc["profiles"]["quick"]


def test_the_board_suite_gives_each_method_its_quick_budget_and_the_paper_its_own():
    quick = {c["method"]["name"]: c["method"] for c in expand(load_suite("mujoco"), seeds=1, profile="quick")}
    paper = {c["method"]["name"]: c["method"] for c in expand(load_suite("mujoco"), seeds=1, profile="paper")}
    assert set(quick) == {"lfl", "logel", "maxent", "gail", "airl", "dac", "iq_learn", "gcl", "trex", "oracle", "bc"}
    assert quick["gail"]["total_timesteps"] < paper["gail"]["total_timesteps"]
    assert quick["trex"]["steps"] < paper["trex"]["steps"] == 10_000
    assert quick["dac"]["total_steps"] < paper["dac"]["total_steps"]


def test_maxent_on_a_mujoco_task_is_n_a_because_it_needs_a_transition_table(tmp_path):
    config = resolve({"task": {"name": "reacher"}, "learner": {"name": "ppo"}, "method": {"name": "maxent"}},
                     suite="t", seed=0, profile="smoke")
    record = run_trial(config, cache_dir=tmp_path / "datasets")
    assert record["status"] == "n/a" and "transition table" in record["error"]


def mujoco_record(suite, method, seed, rng, quality, learner="ppo", task="hopper", fixed=False, label=""):
    record = synthetic_record(suite=suite, method=method, learner=learner, seed=seed, rng=rng, quality=quality,
                              task=task, extra_config={"task": {"fixed_horizon": fixed}})
    record["label"] = record["config"]["label"] = label
    record["track"] = "mujoco"
    record["timings"] = {"total_s": 100.0 + seed, "fit_s": 50.0 + seed}
    return record


def frame(records, tmp_path):
    store = ResultsStore(tmp_path / "store")
    store.append(records)
    return store.frame()


def test_table3_takes_the_boards_methods_on_the_same_observations_only(tmp_path):
    rng = np.random.default_rng(0)
    records = [mujoco_record("lfl-table3", "lfl", s, rng, 1.2) for s in range(3)]
    records += [mujoco_record("mujoco", m, s, rng, q) for m, q in (("gail", 0.5), ("lfl", 9.0)) for s in range(2)]
    records += [mujoco_record("mujoco", "airl", 0, rng, 0.3, learner="expert", fixed=True)]  # other observations
    records += [mujoco_record("mujoco", "dac", 0, rng, 0.3, label="variant")]  # a labelled cell: not the same row
    df = frame(records, tmp_path)
    table3 = df[df.suite == "lfl-table3"]
    borrowed = same_observations(df, table3, "mujoco")
    assert set(borrowed.method) == {"gail"} and len(borrowed) == 2  # LfL's own rows stay its suite's
    (section,) = [s for s in sections(df, {"lfl-table3": "lfl-table3", "mujoco": "leaderboard"}, FAST)
                  if s.suite == "lfl-table3"]
    table = section.tables[0]
    hopper = dict(zip(table.columns, next(r for r in table.rows if r[0].text == "hopper")))
    assert hopper["gail"].n == 2 and hopper["lfl"].n == 3 and hopper["airl"].text == "not run"
    assert any("Same-protocol columns (gail)" in note for note in table.notes)


def test_the_board_sets_ours_beside_imitations_published_numbers_and_costs(tmp_path):
    rng = np.random.default_rng(1)
    records = [mujoco_record("mujoco", m, s, rng, 0.8, learner="expert", fixed=True)
               for m in ("gail", "airl", "bc") for s in range(3)]
    for record in records:
        record["config"]["method"]["total_timesteps"] = 100_000
    tables = {t.name: t for t in (t() if callable(t) else t for t in layout_leaderboard(frame(records, tmp_path), FAST))}
    published = tables["published-imitation-benchmark"]
    row = dict(zip(published.columns, published.rows[0]))
    assert row["task"].text == "hopper" and row["gail (paper)"].text == "0.935 ± 0.057"
    assert row["gail"].n == 3 and abs(row["gail"].point - 0.8) < 0.2
    assert "gail 0.01" in " ".join(published.notes)  # 1e5 of imitation's 1e7 steps
    assert {"fit-cost", "cost"} <= set(tables)


@pytest.mark.parametrize("suite", ["mujoco", "iq-learn-table3"])
def test_each_cell_gives_gail_and_airl_imitations_tuned_values_for_its_task(suite):
    from methods.adversarial import TUNED

    checked = set()
    for config in expand(load_suite(suite), seeds=1, profile="paper"):
        method = config["method"]
        if method["name"] in TUNED and config["task"]["name"] != "reacher":  # reacher: no tuned file, Hopper's
            tuned = TUNED[method["name"]][config["task"]["name"]]
            assert {k: method[k] for k in tuned} == tuned
            checked.add(config["task"]["name"])
    assert checked == ({"hopper", "halfcheetah", "walker2d", "ant"} if suite == "mujoco" else {"hopper", "halfcheetah"})


def test_table3_sets_trex_beside_its_published_figure_without_comparing(tmp_path):
    rng = np.random.default_rng(0)
    records = [mujoco_record("lfl-table3", m, s, rng, q) for m, q in (("lfl", 1.2), ("trex", 1.5)) for s in range(3)]
    (section,) = sections(frame(records, tmp_path), {"lfl-table3": "lfl-table3"}, FAST)
    assert [t.name for t in section.tables] == ["table3", "published-trex-mujoco"]
    published = section.tables[1]
    rows = {r[0].text: r for r in published.rows}
    assert rows["hopper"][1].text == "4.08 / 1.87 / 1.99" and rows["ant"][2].text == "1 of 2"  # theirs, per stage
    ours = rows["hopper"][3:]
    assert ours[0].n == 3 and ours[1].text.endswith("/3")
    assert rows["halfcheetah"][3].text == "not run" and "distance travelled" in " ".join(published.notes)
