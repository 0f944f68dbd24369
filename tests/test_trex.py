import dataclasses
import math

import numpy as np
import pytest
import torch

from envs.datasets import Batch, ObservationDataset
from envs.tabular.learners import sample_stream
from envs.tabular.mdp import TabularMDP
from methods.base import NotApplicable
from methods.trex import TREX, TREXConfig, episode_windows, ranking_loss, snippet_pairs
from tests.conftest import grid_info

FAST = TREXConfig(ensemble=2, pairs=2000, snippet_length=20)


def two_rooms(reward=(0.0, 0.0)) -> TabularMDP:
    """Two states; action a moves to state a (deterministically), whatever the state."""
    transitions = np.zeros((2, 2, 2))
    transitions[:, 0, 0] = transitions[:, 1, 1] = 1.0
    return TabularMDP(transitions, np.repeat(np.asarray(reward, dtype=float)[:, None], 2, axis=1), 0.9,
                      np.array([1.0, 0.0]))


def streams(mdp, p_right, n=1000, seed=0) -> ObservationDataset:
    """One batch per policy, each choosing action 1 (state 1) with probability p."""
    rng = np.random.default_rng(seed)
    return ObservationDataset(tuple(sample_stream(mdp, np.array([[1 - p, p]] * 2), n, rng) for p in p_right))


def test_the_ranking_loss_is_the_bradley_terry_loss_of_two_snippets_by_hand():
    reward = np.array([0.5, -1.0, 2.0])
    worse, better = [0, 1, 1], [2, 2, 0]  # the states of two snippets
    r_worse, r_better = reward[worse].sum(), reward[better].sum()  # -1.5 and 4.5
    by_hand = -math.log(math.exp(r_better) / (math.exp(r_worse) + math.exp(r_better)))
    loss = ranking_loss(torch.tensor([r_worse], dtype=torch.float64), torch.tensor([r_better], dtype=torch.float64))
    assert float(loss) == pytest.approx(by_hand, rel=1e-12) and by_hand == pytest.approx(math.log1p(math.exp(-6.0)))
    # swapped, the same pair costs the other side's probability; a batch is the mean of its pairs
    both = ranking_loss(torch.tensor([r_worse, r_better]), torch.tensor([r_better, r_worse]))
    assert float(both) == pytest.approx((by_hand + math.log1p(math.exp(6.0))) / 2, rel=1e-6)


def test_the_order_of_three_policies_determines_the_sign_of_the_reward():
    mdp = two_rooms()
    improving = streams(mdp, [0.2, 0.5, 0.8])  # state 1 visited more and more
    for data, sign in ((improving, 1.0), (ObservationDataset(improving.batches[::-1]), -1.0)):
        table = TREX(FAST).fit(data, grid_info(mdp), seed=0).reward.table
        assert sign * (table[1, 0] - table[0, 0]) > 0.5  # unit-std reward: the two states ~2 apart
        np.testing.assert_array_equal(table[:, 0], table[:, 1])  # r(s): the same for both actions


def test_rankings_never_use_a_true_reward():
    """The same observations under two true rewards give the same reward: T-REX reads the batches'
    order (and, on expert demonstrations, rollouts in a simulator that hides the reward), never a
    return. And its pairs compare only batches of different ranks, the later one always on top."""
    one, other = two_rooms((0.0, 1.0)), two_rooms((5.0, -3.0))
    data = streams(one, [0.2, 0.5, 0.8])
    np.testing.assert_array_equal(streams(other, [0.2, 0.5, 0.8]).batches[2].observations, data.batches[2].observations)
    learner = [TREX(FAST).fit(data, grid_info(mdp), seed=3).reward.table for mdp in (one, other)]
    np.testing.assert_array_equal(*learner)
    expert = [TREX(FAST).fit(streams(mdp, [0.9]), dataclasses.replace(grid_info(mdp, simulator=True), source="expert"),
                             seed=3).reward.table for mdp in (one, other)]
    np.testing.assert_array_equal(*expert)
    pairs = snippet_pairs(list(data.batches), np.array([0.0, 1.0, 1.0]), 500, 20, np.random.default_rng(0))
    assert (pairs.batch[:, 0] == 0).all() and (pairs.batch[:, 1] > 0).all()  # batches 1 and 2 tie: never compared


def test_d_rex_ranks_a_noisier_clone_lower():
    mdp = two_rooms()
    info = dataclasses.replace(grid_info(mdp, simulator=True), source="expert")
    fit = TREX(FAST).fit(streams(mdp, [0.9]), info, seed=0)  # an expert that keeps to state 1
    assert fit.reward.table[1, 0] > fit.reward.table[0, 0] and fit.diagnostics["ranking"] == "noise injection (D-REX)"
    with pytest.raises(NotApplicable, match="simulator access"):
        TREX.applicable(streams(mdp, [0.9]), dataclasses.replace(grid_info(mdp), source="expert"))
    with pytest.raises(NotApplicable, match="at least two"):
        TREX.applicable(streams(mdp, [0.9]), grid_info(mdp))


def test_snippets_stay_inside_an_episode_and_skip_segments_cut_short_by_the_batch():
    n = 100
    starts = np.zeros(n, dtype=bool)
    starts[[0, 30, 45, 90]] = True  # episodes of 30, 15 (terminated), 45 and 10 (cut by the batch) pairs
    terminals = np.zeros(n, dtype=bool)
    terminals[[29, 44]] = True
    batch = Batch(np.arange(n)[:, None].astype(np.float32), np.zeros((n, 1)), np.arange(n)[:, None] + 1.0, starts, terminals)
    first, sizes = episode_windows(batch, 20)
    assert first.tolist() == [0, 30, 45] and sizes.tolist() == [30, 15, 45]
    pairs = snippet_pairs([batch, batch], np.array([0.0, 1.0]), 2000, 20, np.random.default_rng(0))
    ends = pairs.start + pairs.length
    segment = np.searchsorted([0, 30, 45, 90], pairs.start, side="right") - 1
    assert set(np.unique(pairs.length)) == {15, 20} and (segment < 3).all()
    assert (ends <= np.array([30, 45, 90])[segment]).all()


def test_the_network_form_learns_the_direction_the_batches_improve_in():
    """Three batches drifting along the first observation coordinate: the reward rises along it."""
    from envs.task import TaskInfo
    from methods.trex import TREXNetworkConfig
    import gymnasium as gym

    rng = np.random.default_rng(0)
    batches = []
    for k in range(3):
        obs = rng.normal(size=(200, 3)).astype(np.float32) + np.array([k, 0, 0], dtype=np.float32)
        batches.append(Batch(obs, rng.normal(size=(200, 1)).astype(np.float32), obs, np.eye(1, 200, dtype=bool)[0],
                             np.zeros(200, dtype=bool)))
    info = TaskInfo(name="drift", track="mujoco", gamma=0.99, observation_space=gym.spaces.Box(-9, 9, (3,)),
                    action_space=gym.spaces.Box(-1, 1, (1,)))
    config = TREXNetworkConfig(ensemble=2, pairs=500, steps=300, hidden=32, lr=1e-3, snippet_length=10)
    fit = TREX(config).fit(ObservationDataset(tuple(batches)), info, seed=0)
    line = np.zeros((5, 3), dtype=np.float32)
    line[:, 0] = np.linspace(-1, 3, 5)
    values = fit.reward.function(line, np.zeros((5, 1)), line)
    assert np.all(np.diff(values) > 0) and fit.diagnostics["pair_accuracy"] > 0.8
    again = TREX(config).fit(ObservationDataset(tuple(batches)), info, seed=0).reward.function(line, line[:, :1], line)
    np.testing.assert_array_equal(values, again)  # a deterministic function of data and seed
