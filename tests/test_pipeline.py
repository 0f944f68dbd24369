import numpy as np
import pytest

from benchmark.config import expand, load_suite, trial_id
from benchmark.observers import behaviour_clone_table
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.datasets import Batch, ObservationDataset
from envs.registry import build_task


def table2_configs(seeds=1):
    return expand(load_suite("lfl-table2"), seeds=seeds, profile="smoke")


def test_datasets_regenerate_identically_from_their_spec(tmp_path):
    config = table2_configs()[2]  # Q-learning: the learner with the most randomness
    task = build_task(section_config(config, "task"))
    a, ref_a = observe_learner(config, task, tmp_path / "one")
    b, ref_b = observe_learner(config, task, tmp_path / "two")
    cached, _ = observe_learner(config, task, tmp_path / "one")
    for x, y, z in zip(a.batches, b.batches, cached.batches):
        for field in Batch.__dataclass_fields__:
            assert np.array_equal(getattr(x, field), getattr(y, field))
            assert np.array_equal(getattr(x, field), getattr(z, field))
    assert np.array_equal(ref_a.learner, ref_b.learner)


def test_same_config_and_seed_give_the_same_record_bit_for_bit(tmp_path):
    for config in table2_configs():
        first = run_trial(config, cache_dir=tmp_path / "a")
        second = run_trial(config, cache_dir=tmp_path / "b")
        assert first["status"] == "ok" and first["metrics"] == second["metrics"]
        assert first["trial_id"] == second["trial_id"] == trial_id(config)


def test_seeds_give_different_datasets(tmp_path):
    one, two = table2_configs(seeds=2)[:2]
    task = build_task(section_config(one, "task"))
    a, _ = observe_learner(one, task, tmp_path)
    b, _ = observe_learner(two, task, tmp_path)
    assert not np.array_equal(a.batches[1].actions, b.batches[1].actions)


def test_records_carry_the_learning_curves_and_reward_the_figures_need(tmp_path):
    table1 = expand(load_suite("lfl-table1"), seeds=1, profile="smoke")[0]  # exact policies, Theorem 2
    for config in (table1, table2_configs()[0]):
        record = run_trial(config, cache_dir=tmp_path)
        metrics, art = record["metrics"], record["artifacts"]
        task = build_task(section_config(config, "task"))
        # the learner's curve is the scores of its observed policies, first and last as in the metrics
        assert art["learner_curve"][0] == pytest.approx(metrics["learner_first_score"], rel=1e-5)
        assert art["learner_curve"][-1] == pytest.approx(metrics["learner_last_score"], rel=1e-5)
        # soft policy improvement on the recovered reward converges to the evaluated observer
        assert art["observer_curve"][-1] == pytest.approx(metrics["score"], rel=1e-5)
        assert np.shape(art["reward"]) == task.mdp.reward.shape
        if config is table1:  # with exact policies the observer starts from the learner's last policy
            assert art["observer_curve"][0] == pytest.approx(metrics["learner_last_score"], rel=1e-5)


def test_behaviour_clone_is_the_maximum_likelihood_policy_of_the_last_batch():
    batch = Batch(observations=np.array([0, 0, 0, 1]), actions=np.array([1, 1, 0, 2]),
                  next_observations=np.array([1, 1, 0, 2]), episode_starts=np.zeros(4, bool))
    first = Batch(np.array([2]), np.array([0]), np.array([2]), np.zeros(1, bool))
    policy = behaviour_clone_table(ObservationDataset((first, batch)), n_states=3, n_actions=3)
    np.testing.assert_allclose(policy, [[1 / 3, 2 / 3, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]])


def test_a_continuous_reward_of_the_wrong_shape_is_refused_naming_the_method():
    import pytest

    from benchmark.pipeline import RewardShapeError, check_reward
    from envs.datasets import Batch
    from methods.base import RecoveredReward

    rows = np.zeros((10, 3), dtype=np.float32)
    dataset = ObservationDataset((Batch(rows, rows[:, :2], rows, np.zeros(10, dtype=bool)),))
    good = RecoveredReward(function=lambda obs, act, nxt: np.zeros(len(obs)))
    check_reward("mine", good, None, dataset)
    bad = RecoveredReward(function=lambda obs, act, nxt: np.zeros((len(obs), 2)))
    with pytest.raises(RewardShapeError, match=r"method 'mine' returned a reward function that maps 8 transitions "
                                               r"to shape \(8, 2\) \(float64\); expected \(8,\) numbers"):
        check_reward("mine", bad, None, dataset)
