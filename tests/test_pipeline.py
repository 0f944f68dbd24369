import numpy as np

from benchmark.config import expand, load_suite, trial_id
from benchmark.pipeline import observe_learner, run_trial, section_config
from envs.datasets import Batch
from envs.tasks import build_task


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
