"""LfL's continuous form (Algorithm 1 with networks): the Gaussian policy regression, censored
clipped actions, a hand-solvable continuous task, the termination term, and the tabular form
left as it was."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium.spaces import Box

from benchmark.config import ConfigError, expand, load_suite, resolve
from benchmark.observers import RecoveredRewardVecEnv
from benchmark.pipeline import run_trial
from envs.datasets import Batch, ObservationDataset
from envs.tabular.mdp import TabularMDP, soft_optimal_policy, soft_policy_improvement, soft_score
from envs.task import TaskInfo
from methods.lfl import LfL, LfLConfig, LfLNetworkConfig
from methods.nets import fit_gaussian_policies, holdout_blocks

RESULTS = Path(__file__).resolve().parents[1] / "results" / "records.jsonl"


def gaussian_samples(n: int, seed: int, std: float, clip: float | None = None):
    """s ~ U(-1, 1)^2, a ~ N(0.5 s0 - 0.3 s1 + 0.2, std^2), optionally clipped to [-clip, clip]."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-1, 1, size=(n, 2))
    mean = 0.5 * s[:, :1] - 0.3 * s[:, 1:] + 0.2
    a = mean + std * rng.normal(size=(n, 1))
    a = a if clip is None else np.clip(a, -clip, clip)
    return torch.as_tensor(s[None], dtype=torch.float32), torch.as_tensor(a[None], dtype=torch.float32), mean


def test_the_policy_regression_recovers_a_known_gaussian_from_its_samples():
    obs, actions, mean = gaussian_samples(4000, 0, std=0.3)
    policy = fit_gaussian_policies(obs, actions, torch.ones(1, 4000), steps=600, lr=1e-2, entropy_coef=0.0,
                                   generator=torch.Generator().manual_seed(0))
    fitted = policy.mu(obs)[0].numpy()
    assert np.abs(fitted - mean).mean() < 0.03
    assert float(policy.log_std.exp()) == pytest.approx(0.3, rel=0.05)


def test_clipped_actions_are_censored_observations_of_the_policy_not_a_narrow_policy():
    obs, actions, _ = gaussian_samples(4000, 1, std=0.8, clip=0.6)
    assert (actions.abs() >= 0.6).float().mean() > 0.3  # much of the mass is on the bounds
    fit = lambda bounds: float(fit_gaussian_policies(  # noqa: E731
        obs, actions, torch.ones(1, 4000), steps=600, lr=1e-2, entropy_coef=0.0,
        generator=torch.Generator().manual_seed(0), bounds=bounds).log_std.exp())
    assert fit((np.array([-0.6]), np.array([0.6]))) == pytest.approx(0.8, rel=0.08)
    assert fit(None) < 0.6  # read as densities, clipping looks like a narrower policy


def test_early_stopping_ends_at_the_best_held_out_likelihood():
    obs, actions, _ = gaussian_samples(512, 2, std=0.3)
    mask = torch.ones(1, 512)
    holdout = holdout_blocks(mask)
    assert 0 < holdout.sum() < 512 / 4
    long = dict(steps=3000, lr=1e-2, entropy_coef=0.0, hidden=64)
    stopped = fit_gaussian_policies(obs, actions, mask, generator=torch.Generator().manual_seed(0), holdout=holdout,
                                    **long)
    free = fit_gaussian_policies(obs, actions, mask * (1 - holdout), generator=torch.Generator().manual_seed(0),
                                 **long)
    held = lambda policy: float((policy.log_prob(obs, actions) * holdout).sum() / holdout.sum())  # noqa: E731
    assert held(stopped) >= held(free)


# ----- a hand-solvable continuous task -----------------------------------------------------------
# A one-dimensional linear-quadratic problem, s' = s + a / 2, r = -s^2 - 0.3 a^2, on a fine grid: its
# soft policy improvements are (discretized) Gaussians with state-independent variance, and soft
# dynamic programming on the grid gives every score exactly.
STATES, ACTIONS = np.linspace(-2, 2, 41), np.linspace(-1.5, 1.5, 31)
GAMMA, ALPHA = 0.9, 0.3


def lq_mdp() -> TabularMDP:
    P = np.zeros((len(STATES), len(ACTIONS), len(STATES)))
    for i, s in enumerate(STATES):
        for j, a in enumerate(ACTIONS):
            P[i, j, np.abs(STATES - np.clip(s + 0.5 * a, -2, 2)).argmin()] = 1.0
    reward = -(STATES[:, None] ** 2) - 0.3 * ACTIONS[None, :] ** 2
    return TabularMDP(P, reward, GAMMA, np.ones(len(STATES)) / len(STATES))


def lq_batch(mdp: TabularMDP, policy: np.ndarray, rng: np.random.Generator, pairs: int = 1000,
             horizon: int = 20) -> Batch:
    rows = []
    while len(rows) < pairs:
        s = rng.integers(len(STATES))
        for t in range(horizon):
            a = rng.choice(len(ACTIONS), p=policy[s])
            s_next = int(mdp.transitions[s, a].argmax())
            rows.append(([STATES[s]], [ACTIONS[a]], [STATES[s_next]], t == 0))
            s = s_next
    obs, actions, next_obs, starts = (np.asarray(c[:pairs]) for c in zip(*rows))
    f32 = lambda x: x.astype(np.float32)  # noqa: E731
    return Batch(f32(obs), f32(actions), f32(next_obs), starts.astype(bool), np.zeros(pairs, dtype=bool))


def test_on_a_linear_quadratic_task_the_continuous_reward_lets_the_observer_beat_the_learner():
    mdp = lq_mdp()
    first = np.exp(-(ACTIONS[None, :] - 0.5 * np.sign(STATES)[:, None]) ** 2 / 2.0)  # drifts away from 0
    policies = [first / first.sum(axis=1, keepdims=True)]
    policies.append(soft_policy_improvement(mdp, policies[0], ALPHA))  # the learner: one exact SPI step
    rng = np.random.default_rng(0)
    data = ObservationDataset(tuple(lq_batch(mdp, policy, rng) for policy in policies))
    info = TaskInfo(name="lq", track="mujoco", gamma=GAMMA, observation_space=Box(-2, 2, (1,)),
                    action_space=Box(-3, 3, (1,)))
    config = LfLNetworkConfig(alpha_model=ALPHA, lr=1e-2, policy_steps=200, kl_steps=100, reward_init_steps=200,
                              reward_steps=2000, policy_hidden=32, hidden=32)
    fit = LfL(config).fit(data, info, seed=0)
    grid_s = np.repeat(STATES, len(ACTIONS))[:, None].astype(np.float32)
    grid_a = np.tile(ACTIONS, len(STATES))[:, None].astype(np.float32)
    recovered = fit.reward.function(grid_s, grid_a, grid_s).reshape(len(STATES), len(ACTIONS))
    observer = soft_score(mdp, soft_optimal_policy(mdp, ALPHA, recovered), ALPHA)
    learner, best = soft_score(mdp, policies[-1], ALPHA), soft_score(mdp, soft_optimal_policy(mdp, ALPHA), ALPHA)
    assert best - learner > 1.0  # the learner has room to improve
    assert observer > learner + 0.25 * (best - learner)


# ----- termination ----------------------------------------------------------------------------

def terminating_data(seed: int = 0) -> ObservationDataset:
    """Two batches of a 1-d walk whose episodes end by termination every 10 steps."""
    rng = np.random.default_rng(seed)
    batches = []
    for k in range(2):
        obs = rng.normal(size=(200, 1)).astype(np.float32)
        actions = (0.3 * k + 0.5 * rng.normal(size=(200, 1))).astype(np.float32)
        starts = np.arange(200) % 10 == 0
        batches.append(Batch(obs, actions, np.roll(obs, -1, axis=0), starts, np.roll(starts, -1)))
    return ObservationDataset(tuple(batches))


@pytest.mark.parametrize("termination", ["none", "absorbing", "pessimistic"])
def test_only_a_termination_treatment_gives_the_reward_a_termination_term(termination):
    info = TaskInfo(name="walk", track="mujoco", gamma=0.99, observation_space=Box(-np.inf, np.inf, (1,)),
                    action_space=Box(-3, 3, (1,)))
    cfg = LfLNetworkConfig(**LfLNetworkConfig.profiles["smoke"], termination=termination)
    data = terminating_data()
    fit = LfL(cfg).fit(data, info, seed=0)
    assert (fit.reward.terminal_reward != 0.0) == (termination != "none")
    assert fit.diagnostics["terminal_fraction"] == pytest.approx(0.0 if termination == "none" else 0.1)
    if termination == "pessimistic":  # the absorbing state is worth the worst observed reward, forever
        lowest = min(fit.reward.function(b.observations, b.actions, b.next_observations).min() for b in data.batches)
        assert fit.reward.terminal_reward == pytest.approx(0.99 * lowest / 0.01, rel=1e-5)


class _Ends:
    """A two-environment VecEnv stub: environment 0 terminates, environment 1 hits its time limit."""

    num_envs, observation_space, action_space = 2, Box(-1, 1, (1,)), Box(-1, 1, (1,))
    render_mode = None

    def reset(self):
        return np.zeros((2, 1), dtype=np.float32)

    def step_async(self, actions):
        pass

    def step_wait(self):
        infos = [{"terminal_observation": np.ones(1)}, {"terminal_observation": np.ones(1), "TimeLimit.truncated": True}]
        return np.zeros((2, 1), dtype=np.float32), np.zeros(2), np.array([True, True]), infos


def test_the_observer_gets_the_termination_term_on_terminations_not_on_time_limits():
    venv = RecoveredRewardVecEnv.__new__(RecoveredRewardVecEnv)
    venv.venv, venv.function, venv.terminal_reward = _Ends(), lambda o, a, n: np.zeros(len(o)), -5.0
    venv.reset()
    venv.step_async(np.zeros((2, 1), dtype=np.float32))
    _, rewards, _, _ = venv.step_wait()
    assert rewards.tolist() == [-5.0, 0.0]


# ----- configs and the tabular form -------------------------------------------------------------

def test_lfl_takes_the_continuous_settings_on_a_mujoco_task_and_the_tabular_ones_on_a_grid():
    mujoco = resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "lfl"}},
                     suite="t", seed=0, profile="paper")["method"]
    grid = resolve({"task": {"name": "lfl-gridworld"}, "learner": {"name": "spi"}, "method": {"name": "lfl"}},
                   suite="t", seed=0, profile="paper")["method"]
    assert (mujoco["policy_steps"], mujoco["kl_steps"], mujoco["reward_init_steps"], mujoco["reward_steps"]) == \
        (1000, 100, 3000, 1000)
    assert grid == {"name": "lfl", **LfLConfig().__dict__}
    with pytest.raises(ConfigError, match="unknown config key method.solver"):
        resolve({"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "lfl", "solver": "exact"}},
                suite="t", seed=0, profile="quick")


@pytest.mark.parametrize("suite", ["lfl-table1", "lfl-table2"])
def test_the_tabular_tables_keep_their_trial_ids_and_scores(suite):
    """The committed Tables 1 and 2 records are still this code's: same trial ids, and a rerun of
    one trial per cell gives the recorded score."""
    records = {}
    for line in RESULTS.read_text().splitlines():
        record = json.loads(line)
        if record["suite"] == suite and record["status"] == "ok":
            records[record["trial_id"]] = record
    configs = expand(load_suite(suite), seeds=1, profile="quick")
    from benchmark.config import trial_id

    assert all(trial_id(c) in records for c in configs)
    for config in configs[:4]:
        record = run_trial(config)
        assert record["metrics"]["score"] == pytest.approx(records[trial_id(config)]["metrics"]["score"], rel=1e-9,
                                                           abs=1e-9)


def test_the_table3_suite_runs_lfl_on_a_mujoco_task_at_the_smoke_profile(tmp_path):
    configs = expand(load_suite("lfl-table3"), seeds=1, profile="smoke")
    hopper = [c for c in configs if c["task"]["name"] == "hopper" and c["method"]["name"] == "lfl"
              and c["label"] in ("", "termination=none")]
    assert sorted(c["method"]["termination"] for c in hopper) == ["none", "pessimistic"]
    for config in hopper:
        record = run_trial(config, cache_dir=tmp_path / "datasets")
        assert record["status"] == "ok", record["error"]
        assert record["track"] == "mujoco" and record["timings"]["fit_s"] > 0
        assert (record["diagnostics"]["terminal_reward"] < 0) == (config["method"]["termination"] == "pessimistic")
        assert record["metrics"]["observer_episode_length"] > 0
