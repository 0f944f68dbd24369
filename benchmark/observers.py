"""The observer of each track: train a fresh agent on a reward, score it on the true reward.

`observe(task, reward, dataset, reference, seed)` gives a trial's metrics and artifacts, where
reward is a method's RecoveredReward, TRUE_REWARD (the oracle reference row) or NO_REWARD (the
bc reference row: the clone of the last observed batch, not trained further).
Tabular: the exact soft-optimal policy for the reward, under the true dynamics and the task's
alpha, scored by its soft value. MuJoCo: SB3 PPO on the reward, started from a behavioural clone
of the last observed batch, scored by its mean true return.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from benchmark.normalization import expert_normalized, lfl_normalized
from benchmark.reward_distance import epic_distance
from envs.datasets import Batch, ObservationDataset, ReferenceScores
from envs.task import Task
from methods.base import FitResult, RecoveredReward

TRUE_REWARD, NO_REWARD = "true reward", "no reward"
# The tabular observer's learning curve: soft policy improvement steps on the recovered reward
# (Newton's method on the soft Bellman equation, so 10 steps reach the fixed point on these grids).
OBSERVER_STEPS = 10
SIGNIFICANT_DIGITS = 6  # curves and reward tables in records are for figures, not for metrics


def rounded(values) -> list:
    """Nested lists of floats at SIGNIFICANT_DIGITS, for compact records."""
    return np.vectorize(lambda x: float(f"{x:.{SIGNIFICANT_DIGITS}g}"), otypes=[float])(
        np.asarray(values, dtype=float)).tolist()


def score_metrics(score: float, reference: ReferenceScores) -> dict[str, float]:
    """A score with the learner's and the references' scores and both normalizations."""
    first, last = float(reference.learner[0]), float(reference.learner[-1])
    # a sampled learner score's standard error (its episodes' spread): whether last - first is beyond noise
    spread = {} if reference.learner_se is None else {"learner_first_se": float(reference.learner_se[0]),
                                                      "learner_last_se": float(reference.learner_se[-1])}
    return {**spread,
        "score": score,
        "regret": reference.optimal - score,
        "learner_first_score": first,
        "learner_last_score": last,
        "optimal_score": reference.optimal,
        "random_score": reference.random,
        "normalized_score": float(lfl_normalized(score, first, last)),
        "normalized_score_expert": float(expert_normalized(score, reference.random, reference.optimal)),
    }


# ----- tabular -----------------------------------------------------------------------------------

def tabular_observe(task, reward: Any, dataset: ObservationDataset, reference: ReferenceScores,
                    fit: FitResult | None, seed: int) -> tuple[dict[str, float], dict[str, Any]]:
    from envs.tabular.mdp import soft_optimal_policy, soft_score

    mdp, alpha = task.mdp, task.alpha
    start = behaviour_clone_table(dataset, mdp.n_states, mdp.n_actions)
    table = None if reward is NO_REWARD else mdp.reward if reward is TRUE_REWARD else reward.table
    observer = start if table is None else soft_optimal_policy(mdp, alpha, table)
    metrics = score_metrics(soft_score(mdp, observer, alpha), reference)
    metrics["epic_distance"] = float("nan") if table is None else \
        epic_distance(table, mdp.reward, mdp.transitions, mdp.gamma)
    if fit is not None and fit.policy is not None:
        metrics["method_policy_score"] = soft_score(mdp, fit.policy, alpha)
    artifacts = {"learner_curve": rounded(reference.learner),
                 "observer_curve": rounded([soft_score(mdp, start, alpha)] if table is None else
                                           tabular_curve(task, table, start)),
                 **task.describe()}
    if table is not None:
        artifacts["reward"] = rounded(table)
    return metrics, artifacts


def behaviour_clone_table(dataset: ObservationDataset, n_states: int, n_actions: int) -> np.ndarray:
    """(S, A) the observer's starting policy: the last observed policy when policies are observed
    exactly, else the maximum-likelihood clone of the last batch (uniform in unvisited states)."""
    if dataset.policies is not None:
        return np.asarray(dataset.policies[-1], dtype=float)
    batch = dataset.batches[-1]
    counts = np.zeros((n_states, n_actions))
    np.add.at(counts, (batch.observations, batch.actions), 1.0)
    visits = counts.sum(axis=1, keepdims=True)
    return np.where(visits > 0, counts / np.maximum(visits, 1.0), 1.0 / n_actions)


def tabular_curve(task, reward: np.ndarray, start: np.ndarray, steps: int = OBSERVER_STEPS) -> list[float]:
    """True-reward scores of the observer as it learns on the recovered reward, like LfL's Fig. 4:
    it starts from the clone of the learner's last observed behaviour and takes `steps` soft
    policy improvement steps on the recovered reward (their limit is the evaluated observer)."""
    from envs.tabular.mdp import soft_policy_improvement, soft_score

    mdp, alpha = task.mdp, task.alpha
    policy, scores = start, [soft_score(mdp, start, alpha)]
    for _ in range(steps):
        policy = soft_policy_improvement(mdp, policy, alpha, reward)
        scores.append(soft_score(mdp, policy, alpha))
    return scores


# ----- MuJoCo ------------------------------------------------------------------------------------

def mujoco_observe(task, reward: Any, dataset: ObservationDataset, reference: ReferenceScores,
                   fit: FitResult | None, seed: int) -> tuple[dict[str, float], dict[str, Any]]:
    """SB3 PPO on `reward` (the environment's own for the oracle), from a behavioural clone of the
    last observed batch (or from scratch), scored at curve_points checkpoints; the last is the score.

    Starting from the clone: the agent's observation statistics start as the batch's (so that the
    clone and PPO see the same normalized inputs at the switch), and the critic is fitted on
    observer_warmup_steps of the clone's own rollouts before PPO's first policy update (an untrained
    critic's advantages are noise, and the first updates on them undo part of the clone). Those
    steps are reported apart from observer_steps, which count the policy's training only."""
    from envs.mujoco.ppo import EVAL_SEED, NormalizedPolicy, ObsNormalization, episode_stats, make_ppo, \
        torch_threads, vec_env
    from envs.seeding import seeded_global_rngs

    cfg = task.config
    settings = cfg.observer_settings()
    steps = 0 if reward is NO_REWARD else cfg.observer_steps
    chunk = settings.steps_per_update * max(1, -(-steps // (settings.steps_per_update * (cfg.curve_points - 1))))
    lengths: list[float] = []

    def score(model) -> float:  # the mean true return, statistics frozen; the mean episode length for diagnosis
        returns, length = episode_stats(NormalizedPolicy.of(model), task.make_env, cfg.eval_episodes, EVAL_SEED)
        lengths.append(float(length.mean()))
        return float(returns.mean())

    with seeded_global_rngs(seed), torch_threads(1):
        venv = vec_env(task.make_env, settings.n_envs, seed)
        if reward is not TRUE_REWARD and reward is not NO_REWARD:
            venv = RecoveredRewardVecEnv(venv, reward.function, reward.terminal_reward)
        model = make_ppo(venv, settings, seed)
        warmup = 0
        if cfg.observer_start == "bc" or reward is NO_REWARD:
            batch = dataset.batches[-1]
            if model.get_vec_normalize_env() is not None:
                start_statistics(model.get_vec_normalize_env(), batch.observations)
            normalize = ObsNormalization.of(model.get_vec_normalize_env())
            behaviour_clone(model.policy, replace(batch, observations=normalize(batch.observations)),
                            steps=cfg.bc_steps, seed=seed)
            if steps and cfg.observer_warmup_steps:
                warmup = fit_critic(model, cfg.observer_warmup_steps)
        curve, at = [score(model)], [0]
        while at[-1] < steps:
            model.learn(total_timesteps=min(chunk, steps - at[-1]), reset_num_timesteps=False)
            at.append(int(model.num_timesteps) - warmup)
            curve.append(score(model))
        model.get_env().close()
    metrics = score_metrics(curve[-1], reference)
    if fit is not None and fit.policy is not None:  # the method's own policy, scored like every policy here
        metrics["method_policy_score"] = float(episode_stats(fit.policy, task.make_env, cfg.eval_episodes,
                                                             EVAL_SEED)[0].mean())
    metrics["observer_steps"], metrics["observer_warmup_steps"] = float(at[-1]), float(warmup)
    # how the observer's episodes end: shorter than the clone's means it learned to terminate sooner
    metrics["observer_episode_length"], metrics["observer_start_episode_length"] = lengths[-1], lengths[0]
    artifacts = {"learner_curve": rounded(reference.learner), "observer_curve": rounded(curve),
                 "observer_curve_steps": at, **task.describe()}
    return metrics, artifacts


def start_statistics(venv, observations: np.ndarray) -> None:
    """A VecNormalize's observation statistics set to a batch's (mean, variance, count)."""
    observations = np.asarray(observations, dtype=np.float64)
    venv.obs_rms.mean, venv.obs_rms.var = observations.mean(axis=0), observations.var(axis=0)
    venv.obs_rms.count = float(len(observations))


def fit_critic(model, steps: int) -> int:
    """PPO updates on `steps` steps of the current policy's rollouts with the actor frozen: only
    the critic learns, and the return's scale. The observation statistics are kept as they were
    (they are the actor's input: moving them would change the policy). Returns the steps taken."""
    import copy

    policy, venv = model.policy, model.get_vec_normalize_env()
    actor = [*policy.mlp_extractor.policy_net.parameters(), *policy.action_net.parameters(), policy.log_std]
    observations = copy.deepcopy(venv.obs_rms) if venv is not None else None
    before = model.num_timesteps
    for parameter in actor:
        parameter.requires_grad_(False)
    try:
        model.learn(total_timesteps=steps, reset_num_timesteps=False)
    finally:
        for parameter in actor:
            parameter.requires_grad_(True)
        if observations is not None:
            venv.obs_rms = observations
    return int(model.num_timesteps - before)


def behaviour_clone(policy, batch: Batch, *, steps: int, seed: int, batch_size: int = 64) -> None:
    """Fits an SB3 policy in place to a batch's state-action pairs by maximum likelihood, with
    imitation's BC (Adam, lr 1e-3, its small entropy bonus, no L2 penalty), for `steps` minibatch
    steps: the Gaussian's log-std moves about lr a step, so a clone needs thousands of them."""
    import tempfile
    import warnings

    from imitation.algorithms.bc import BC
    from imitation.data.types import Transitions
    from imitation.util import logger as imitation_logger

    dones = np.append(batch.episode_starts[1:], False)  # an episode ends where the next one starts
    demos = Transitions(obs=batch.observations, acts=batch.actions, next_obs=batch.next_observations, dones=dones,
                        infos=np.array([{}] * len(batch), dtype=object))
    with tempfile.TemporaryDirectory() as log_dir, warnings.catch_warnings():
        # imitation logs its loss tensors with float(): a notice per step, not a problem
        warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
        trainer = BC(observation_space=policy.observation_space, action_space=policy.action_space,
                     rng=np.random.default_rng(seed), policy=policy, demonstrations=demos,
                     batch_size=min(batch_size, len(batch)), device="cpu",
                     custom_logger=imitation_logger.configure(log_dir, format_strs=[]))
        trainer.train(n_batches=steps, progress_bar=False, log_interval=10**9)


class RecoveredRewardVecEnv(VecEnvWrapper):
    """A VecEnv whose rewards are a recovered reward function, called once per vectorized step on
    the whole batch (obs, actions, next obs; next obs is the terminal observation where an episode
    ended), plus terminal_reward where an episode ended by termination rather than a time limit.
    Termination, truncation and observations stay the environment's."""

    def __init__(self, venv: VecEnv, function: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                 terminal_reward: float = 0.0) -> None:
        super().__init__(venv)
        self.function, self.terminal_reward = function, terminal_reward
        self.last_obs: np.ndarray | None = None
        self.actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        self.last_obs = self.venv.reset()
        return self.last_obs

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = actions
        self.venv.step_async(actions)

    def step_wait(self):
        obs, _, dones, infos = self.venv.step_wait()
        next_obs = np.array(obs, copy=True)
        for i in np.flatnonzero(dones):
            next_obs[i] = infos[i]["terminal_observation"]
        # float32, as the observed batches hold them (MuJoCo emits float64)
        batch = (np.asarray(x, dtype=np.float32) for x in (self.last_obs, self.actions, next_obs))
        rewards = np.asarray(self.function(*batch), dtype=np.float32).reshape(-1)
        if self.terminal_reward:
            terminated = [bool(done) and not info.get("TimeLimit.truncated", False) for done, info in zip(dones, infos)]
            rewards = rewards + np.float32(self.terminal_reward) * np.asarray(terminated, dtype=np.float32)
        self.last_obs = obs
        return obs, rewards, dones, infos


OBSERVERS: dict[str, Callable[..., tuple[dict[str, float], dict[str, Any]]]] = {
    "tabular": tabular_observe, "mujoco": mujoco_observe}


def observe(task: Task, reward: RecoveredReward | str, dataset: ObservationDataset, reference: ReferenceScores,
            *, fit: FitResult | None = None, seed: int = 0) -> tuple[dict[str, float], dict[str, Any]]:
    """The trial's metrics and artifacts from the track's observer."""
    return OBSERVERS[task.track](task, reward, dataset, reference, fit, seed)
