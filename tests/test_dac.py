import dataclasses

import numpy as np
import pytest
import torch

from envs.tabular.gridworld import lfl_gridworld
from envs.tabular.learners import ExpertConfig, SPIConfig, run_learner
from envs.tabular.mdp import soft_optimal_policy, soft_score
from methods.base import NotApplicable
from methods.dac import (DAC, DACConfig, absorbing_transitions, discriminator_loss, encode, input_gradient,
                         make_discriminator)
from tests.conftest import grid_info

SMOKE = DACConfig(**DAC.profiles["smoke"])


def expert_data(mdp, pairs, seed):
    return run_learner(mdp, 0.3, ExpertConfig(n_batches=1), observation="trajectories", pairs_per_batch=pairs,
                       rng=np.random.default_rng(seed))[1]


def regret(mdp, alpha, policy):
    return soft_score(mdp, soft_optimal_policy(mdp, alpha), alpha) - soft_score(mdp, policy, alpha)


@pytest.fixture(scope="module")
def smoke_fit():
    mdp = lfl_gridworld()
    return mdp, DAC(SMOKE).fit(expert_data(mdp, 1000, seed=0), grid_info(mdp, 0.3, transitions=mdp.transitions), seed=0)


def test_generator_learns_from_the_discriminator(smoke_fit):
    """The soft-Q generator imitates the expert far better than uniform (regret 25.5); measured 2.6."""
    mdp, fit = smoke_fit
    assert regret(mdp, 0.3, fit.policy) < 4.0
    assert fit.reward.table.shape == (25, 4) and np.isfinite(fit.reward.table).all()


@pytest.mark.xfail(strict=True, reason="measured at the smoke budget, seed 0: DAC observer regret 5.5 (logit reward)")
def test_dac_observer_imitates_an_expert_at_smoke_budget(smoke_fit):
    """Expert demonstrations of the LfL gridworld: the observer of the recovered reward has regret < 0.5."""
    mdp, fit = smoke_fit
    assert regret(mdp, 0.3, soft_optimal_policy(mdp, 0.3, fit.reward.table)) < 0.5


def test_same_seed_same_result():
    mdp = lfl_gridworld()
    data, info = expert_data(mdp, 300, seed=0), grid_info(mdp, transitions=mdp.transitions)
    method = DAC(dataclasses.replace(SMOKE, total_steps=1280))
    one, two, other = method.fit(data, info, seed=7), method.fit(data, info, seed=7), method.fit(data, info, seed=8)
    np.testing.assert_array_equal(one.reward.table, two.reward.table)
    np.testing.assert_array_equal(one.policy, two.policy)
    assert not np.array_equal(one.reward.table, other.reward.table)


def test_absorbing_state_wrapper_on_a_terminal_transition():
    """A terminal step continues into the absorbing state (zeros with indicator 1), which loops on
    itself; a time-limit truncation is not terminal and stays as it is."""
    n_s, n_a = 3, 2
    s, a, s2 = np.array([0, 1, 2]), np.array([1, 0, 1]), np.array([1, 2, 0])
    terminal = np.array([False, True, False])  # step 1 ends the episode; step 2 is merely truncated
    ws, wa, ws2 = absorbing_transitions(s, a, s2, terminal, n_s)
    np.testing.assert_array_equal(ws, [0, 1, 2, 3])
    np.testing.assert_array_equal(ws2, [1, 3, 0, 3])
    np.testing.assert_array_equal(wa[:3], a)
    x = encode(ws, wa, n_s, n_a).numpy()
    np.testing.assert_array_equal(x[1], [0, 1, 0, 1, 0, 0])  # one-hot s=1, a=0, indicator 0
    np.testing.assert_array_equal(x[3], [0, 0, 0, 0, 0, 1])  # the absorbing state
    np.testing.assert_array_equal(encode(np.array([3, 3]), np.array([0, 1]), n_s, n_a)[0],
                                  encode(np.array([3, 3]), np.array([0, 1]), n_s, n_a)[1])
    unchanged = absorbing_transitions(s, a, s2, np.zeros(3, dtype=bool), n_s)
    for got, want in zip(unchanged, (s, a, s2)):
        np.testing.assert_array_equal(got, want)


def test_gradient_penalty_of_a_flat_critic_is_lambda():
    """WGAN-GP term: with zero first-layer weights the logit is constant in x, |grad| = 0, and the
    penalty is (0 - 1)^2 = 1, so the loss is the BCE plus exactly lambda."""
    g = torch.Generator().manual_seed(0)
    net = make_discriminator(6, 4, g)
    with torch.no_grad():
        net[0].weight.zero_()
    xe, xp = torch.eye(6)[:3], torch.eye(6)[3:]
    loss, stats = discriminator_loss(net, xe, xp, 10.0, g)
    assert float(stats["disc_penalty"]) == pytest.approx(1.0, abs=1e-12)
    assert float(loss.detach()) == pytest.approx(float(stats["disc_bce"]) + 10.0, rel=1e-6)


def test_written_out_input_gradient_equals_autograd():
    """The penalty's d logit / dx, written out for the tanh MLP, against autograd's double backward
    (values and the parameter gradients of the penalty)."""
    g = torch.Generator().manual_seed(1)
    net = make_discriminator(30, 64, g)
    x = torch.rand(50, 30, generator=g, requires_grad=True)
    auto, = torch.autograd.grad(net(x).sum(), x, create_graph=True)
    mine = input_gradient(net, x)
    torch.testing.assert_close(mine, auto)
    grads = [torch.autograd.grad(((v.norm(dim=1) - 1) ** 2).mean(), list(net.parameters()), retain_graph=True,
                                 allow_unused=True) for v in (mine, auto)]
    for p_mine, p_auto in zip(*grads):
        torch.testing.assert_close(p_mine if p_mine is not None else torch.zeros(1),
                                   p_auto if p_auto is not None else torch.zeros(1))


def test_runs_on_a_learner_using_the_last_batch():
    mdp, alpha = lfl_gridworld(), 0.3
    _, data = run_learner(mdp, alpha, SPIConfig(k=3), observation="trajectories", pairs_per_batch=300,
                          rng=np.random.default_rng(0))
    result = DAC(dataclasses.replace(SMOKE, total_steps=1280)).fit(
        data, grid_info(mdp, alpha, transitions=mdp.transitions), seed=0)
    assert np.isfinite(result.reward.table).all() and result.reward.table.shape == (25, 4)
    np.testing.assert_allclose(result.policy.sum(axis=1), 1.0)


def test_needs_simulator_access_not_the_model():
    mdp = lfl_gridworld()
    data = expert_data(mdp, 100, seed=0)
    with pytest.raises(NotApplicable, match="simulator access"):
        DAC.applicable(data, grid_info(mdp))
    # the simulator alone is enough: DAC rolls out in it and never reads the dynamics
    info = grid_info(mdp, simulator=True)
    DAC.applicable(data, info)
    assert info.transitions is None and np.isfinite(DAC(SMOKE).fit(data, info, seed=0).reward.table).all()


@pytest.mark.parametrize("field, value", [("reward_scale", "fit"), ("demo_batches", 0), ("grad_penalty", -1.0),
                                          ("q_lr", 0.0), ("total_steps", 10)])
def test_invalid_config_is_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        DACConfig(**{field: value})
