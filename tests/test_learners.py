import numpy as np
import pytest

from envs.datasets import Batch, ObservationDataset, load_or_generate, ReferenceScores
from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import (QLearningConfig, RandomImprovementsConfig, SPIConfig, SVIConfig, run_learner,
                           sample_stream)
from envs.tabular.mdp import soft_score

LEARNERS = [SPIConfig(), SVIConfig(), QLearningConfig(), RandomImprovementsConfig()]


def scores(config, seed=0):
    mdp, alpha = lfl_gridworld(), 0.3
    policies, data = run_learner(mdp, alpha, config, observation="trajectories", pairs_per_batch=1000,
                                 rng=np.random.default_rng(seed))
    return np.array([soft_score(mdp, p, alpha) for p in policies]), data


@pytest.mark.parametrize("config", LEARNERS, ids=lambda c: c.name)
def test_each_learner_improves(config):
    values, data = scores(config)
    assert len(values) == config.k + 1 == len(data.batches)
    assert values[-1] > values[0] + 10  # from about uniform (-19.8) to a good policy
    half = len(values) // 2
    assert values[half:].mean() > values[:half].mean()


@pytest.mark.parametrize("config", [SPIConfig(k=6), RandomImprovementsConfig()], ids=lambda c: c.name)
def test_monotone_learners_improve_at_every_step(config):
    # SPI by the policy improvement theorem; random improvements because their weights are sorted.
    values, _ = scores(config)
    assert np.all(np.diff(values) > 0)


def test_batches_are_continuous_streams_from_the_start_state():
    _, data = scores(SPIConfig())
    for batch in data.batches:
        assert len(batch) == 1000 and batch.observations[0] == 0 and batch.episode_starts.sum() == 1
        np.testing.assert_array_equal(batch.observations[1:], batch.next_observations[:-1])


def test_the_observer_view_carries_no_rewards():
    """The dataset type has no reward field, and the samples do not depend on the reward."""
    assert {"observations", "actions", "next_observations", "episode_starts", "terminals"} == set(Batch.__dataclass_fields__)
    assert set(ObservationDataset.__dataclass_fields__) == {"batches", "policies"}
    mdp = lfl_gridworld()
    policy = np.random.default_rng(0).dirichlet(np.ones(4), size=25)
    other = mdp.with_reward(np.random.default_rng(1).normal(size=(25, 4)))
    a = sample_stream(mdp, policy, 300, np.random.default_rng(5))
    b = sample_stream(other, policy, 300, np.random.default_rng(5))
    for field in Batch.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_dataset_cache_round_trip(tmp_path):
    calls = []

    def generate():
        calls.append(1)
        _, data = scores(SVIConfig(k=2))
        return data, ReferenceScores(np.array([1.0, 2.0, 3.0]), 5.0, -1.0)

    spec = {"learner": "svi", "seed": 0}
    first = load_or_generate(spec, generate, tmp_path)
    second = load_or_generate(spec, generate, tmp_path)
    assert len(calls) == 1
    for b1, b2 in zip(first[0].batches, second[0].batches):
        for field in Batch.__dataclass_fields__:
            np.testing.assert_array_equal(getattr(b1, field), getattr(b2, field))
    assert second[1].optimal == 5.0 and list(second[1].learner) == [1.0, 2.0, 3.0]
    assert list(tmp_path.glob("*.tmp")) == []
