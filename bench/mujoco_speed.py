"""Benchmark: the MuJoCo track's speed on this machine, and where one quick trial's time goes.

Per task, side by side in one run, on one torch thread with explicit seeds:

1. raw environment steps/s with random actions (`random_actions_rate`): the limit;
2. the recorded learner (`record_learner`, the quick learner's PPO sizes 8 x 256, 8 minibatches, a
   window of observed updates every `every` updates ending at the last update, `--eval-episodes`
   episodes a scored policy) against plain SB3 PPO with the same settings for the same number of
   updates (`make_ppo` + `learn`, no callback). The recorder scores each observed policy: that time
   is measured apart, and the ratio recorded/plain (target: at least 0.95x) leaves it out;
3. the observer's PPO (the quick observer's sizes 8 x 256) through `RecoveredRewardVecEnv` on a
   learned reward network (a random 64-64 tanh MLP on concatenated obs and action, evaluated under
   no_grad on the whole batch) against the same PPO on the environment's own reward, for the same
   steps (target: at least 0.9x);
4. an estimate of one quick trial's seconds per phase (learner recording and scoring, expert,
   observer PPO and scoring) from the quick profiles' sizes at the rates measured above; scoring
   as whole episodes at a measured scoring rate (a policy acting one step at a time, as
   mean_return does): an upper bound, since a fall ends an episode early.

Every run's seconds include building its environments and its PPO; one untimed PPO update runs
first so that torch's first-call costs land in no measurement. The numbers depend on the load of
the machine (the load average is printed). Not a test: nothing is asserted.

    .venv/bin/python bench/mujoco_speed.py --tasks hopper halfcheetah
    .venv/bin/python bench/mujoco_speed.py --seconds 2 --steps 2048     # a quick look
"""

from __future__ import annotations

import argparse
import math
import os
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import gymnasium as gym
import numpy as np
import torch

import envs.mujoco.ppo as ppo
from benchmark.observers import RecoveredRewardVecEnv
from envs.mujoco.envs import ENV_IDS, env_id, make_env, random_actions_rate, spaces
from envs.mujoco.ppo import PPOSettings, make_ppo, record_learner, torch_threads, vec_env
from envs.mujoco.task import MujocoConfig, PPOLearnerConfig
from envs.seeding import seeded_global_rngs

SCORING_STEPS = 2000  # steps of the scoring-rate measurement


def quick(cls: type) -> Any:
    """A config class at its quick profile."""
    return cls(**cls.profiles["quick"])


class CountSteps(gym.Wrapper):
    """Counts the steps taken in the wrapped environment into `counter["steps"]`."""

    def __init__(self, env: gym.Env, counter: dict[str, float]) -> None:
        super().__init__(env)
        self.counter = counter

    def step(self, action):
        self.counter["steps"] += 1
        return self.env.step(action)


@contextmanager
def timed_scoring() -> Iterator[dict[str, float]]:
    """Times every `mean_and_se` call made through envs.mujoco.ppo (the recorder's scoring) while
    the block runs, and counts its environment steps; yields {"calls", "seconds", "steps"}."""
    total = {"calls": 0, "seconds": 0.0, "steps": 0}
    original = ppo.mean_and_se

    def timed(policy, make, *args, **kwargs):
        tick = time.perf_counter()
        try:
            return original(policy, lambda: CountSteps(make(), total), *args, **kwargs)
        finally:
            total["calls"] += 1
            total["seconds"] += time.perf_counter() - tick

    ppo.mean_and_se = timed
    try:
        yield total
    finally:
        ppo.mean_and_se = original


def reward_network(task: str, fixed_horizon: bool, seed: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray],
                                                                          np.ndarray]:
    """A learned-reward stand-in: a 64-64 tanh MLP on (obs, action), random weights, whole batch."""
    observation_space, action_space = spaces(task, fixed_horizon)
    width = observation_space.shape[0] + action_space.shape[0]
    with seeded_global_rngs(seed):
        net = torch.nn.Sequential(torch.nn.Linear(width, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64),
                                  torch.nn.Tanh(), torch.nn.Linear(64, 1))

    def function(obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.as_tensor(np.concatenate([obs, actions], axis=1), dtype=torch.float32)
            return net(x).squeeze(-1).numpy()

    return function


def plain_ppo(make: Callable, settings: PPOSettings, steps: int, seed: int,
              reward: Callable | None = None) -> tuple[float, Any]:
    """Seconds to build and train SB3 PPO for `steps` (on `reward` through RecoveredRewardVecEnv if
    given), and the trained model."""
    tick = time.perf_counter()
    with seeded_global_rngs(seed), torch_threads(1):
        venv = vec_env(make, settings.n_envs, seed)
        if reward is not None:
            venv = RecoveredRewardVecEnv(venv, reward)
        model = make_ppo(venv, settings, seed)
        model.learn(total_timesteps=steps)
        venv.close()
    return time.perf_counter() - tick, model


def scoring_rate(make: Callable, policy, steps: int, seed: int) -> float:
    """Steps/s of a policy scored as mean_return scores it (sampled actions, one forward pass a
    step), in one environment, starting a new episode where one ends."""
    env = make()
    space = env.action_space
    obs, _ = env.reset(seed=seed)
    with torch_threads(1):
        tick = time.perf_counter()
        for _ in range(steps):
            with torch.no_grad():
                action, _ = policy.predict(obs[None], deterministic=False)
            obs, _, terminated, truncated, _ = env.step(np.clip(action[0], space.low, space.high))
            if terminated or truncated:
                obs, _ = env.reset()
        seconds = time.perf_counter() - tick
    env.close()
    return steps / seconds


def measure(task: str, args: argparse.Namespace) -> dict[str, Any]:
    make = lambda: make_env(task, args.fixed_horizon)  # noqa: E731
    learner, config = quick(PPOLearnerConfig), quick(MujocoConfig)
    settings, observer = learner.settings(config.gamma, config.normalize), config.observer_settings()
    updates = max(1, math.ceil(args.steps / settings.steps_per_update))
    steps = updates * settings.steps_per_update
    observed = list(range(updates - 1, -1, -learner.every))[::-1]  # ends at the last update: `updates` in all
    m: dict[str, Any] = {"task": task, "env": env_id(task, args.fixed_horizon), "updates": updates, "steps": steps,
                         "observed": observed, "learner": learner, "config": config, "settings": settings,
                         "observer": observer}

    with torch_threads(1):
        m["raw_rate"] = random_actions_rate(task, args.fixed_horizon, args.seconds, seed=args.seed)
    _, warm = plain_ppo(make, settings, settings.steps_per_update, args.seed + 1)  # warm-up, untimed
    m["scoring_rate"] = scoring_rate(make, ppo.NormalizedPolicy.of(warm), SCORING_STEPS, args.seed)

    # plain and recorded alternate, --repeats times, and each keeps its fastest run: one measurement
    # of each swings by about 20% on this machine (the first of a pair runs slower)
    plain_s, recorded = [], []
    for _ in range(args.repeats):
        plain_s.append(plain_ppo(make, settings, steps, args.seed)[0])
        with timed_scoring() as scoring:
            tick = time.perf_counter()
            batches, _ = record_learner(make, settings, observed, seed=args.seed, eval_episodes=args.eval_episodes)
            recorded.append((time.perf_counter() - tick, dict(scoring)))
    m["plain_s"], m["plain_runs"] = min(plain_s), plain_s
    m["recorded_s"], scoring = min(recorded, key=lambda r: r[0] - r[1]["seconds"])
    m["recorded_runs"] = [r[0] - r[1]["seconds"] for r in recorded]
    m["batches"] = len(batches)  # the recorder was active on this many updates
    m["score_s"], m["score_calls"], m["score_steps"] = scoring["seconds"], scoring["calls"], scoring["steps"]
    env = make()
    m["horizon"] = env.spec.max_episode_steps
    env.close()

    obs_steps = updates * observer.steps_per_update
    m["observer_steps"] = obs_steps
    true_s, learned_s = [], []
    net = reward_network(task, args.fixed_horizon, args.seed)
    reward_time = {"seconds": 0.0}

    def timed_net(*batch):
        tick = time.perf_counter()
        out = net(*batch)
        reward_time["seconds"] += time.perf_counter() - tick
        return out

    for _ in range(args.repeats):  # alternating, the fastest of each, as above
        true_s.append(plain_ppo(make, observer, obs_steps, args.seed)[0])
        reward_time["seconds"] = 0.0
        learned_s.append(plain_ppo(make, observer, obs_steps, args.seed, reward=timed_net)[0])
    m["true_s"], m["learned_s"], m["true_runs"], m["learned_runs"] = min(true_s), min(learned_s), true_s, learned_s
    m["reward_s"] = reward_time["seconds"]
    return m


def report(m: dict[str, Any], args: argparse.Namespace) -> None:
    steps, obs_steps, settings, observer = m["steps"], m["observer_steps"], m["settings"], m["observer"]
    plain = steps / m["plain_s"]
    recorded_net = steps / (m["recorded_s"] - m["score_s"])
    recorded_all = steps / m["recorded_s"]
    true, learned = obs_steps / m["true_s"], obs_steps / m["learned_s"]
    raw = m["raw_rate"]
    episodes = m["score_calls"] * args.eval_episodes
    per_episode = m["horizon"] / m["scoring_rate"]  # a whole episode: an upper bound (a fall ends one early)

    def row(name: str, n: str, seconds: float, rate: float) -> str:
        return f"| {name} | {n} | {seconds:.2f} | {rate:,.0f} | {rate / raw:.3f} |"

    print(f"\n## {m['task']} ({m['env']})\n")
    print(f"{m['updates']} PPO updates of {settings.n_envs} x {settings.n_steps} steps; learner "
          f"{settings.n_minibatches} minibatches, observer {observer.n_minibatches}; recorder observes updates "
          f"{m['observed']} ({m['batches']} batches recorded), {args.eval_episodes} episode(s) a scored policy\n")
    print("| run | env steps | seconds | steps/s | of raw |")
    print("|---|---:|---:|---:|---:|")
    print(row("raw env, random actions", f"~{raw * args.seconds:,.0f}", args.seconds, raw))
    print(row("PPO plain, learner sizes", f"{steps:,}", m["plain_s"], plain))
    print(row("PPO recorded, scoring left out", f"{steps:,}", m["recorded_s"] - m["score_s"], recorded_net))
    print(row("PPO recorded, scoring included", f"{steps:,}", m["recorded_s"], recorded_all))
    print(row("PPO observer sizes, true reward", f"{obs_steps:,}", m["true_s"], true))
    print(row("PPO observer sizes, learned reward", f"{obs_steps:,}", m["learned_s"], learned))
    print(f"\n- recorded / plain: **{recorded_net / plain:.3f}x** (target >= 0.95x; with scoring "
          f"{recorded_all / plain:.3f}x)")
    runs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    print(f"- seconds of each run (fastest kept): plain {runs(m['plain_runs'])}; recorded, scoring left out "
          f"{runs(m['recorded_runs'])}; observer on the true reward {runs(m['true_runs'])}; on the network "
          f"{runs(m['learned_runs'])}")
    print(f"- learned reward / true reward: **{learned / true:.3f}x** (target >= 0.9x); the reward network's "
          f"own calls: {m['reward_s']:.2f} s")
    print(f"- recorder's scoring: {m['score_calls']} policies x {args.eval_episodes} episode(s), "
          f"{m['score_steps']:,} steps ({m['score_steps'] / max(1, episodes):.0f} an episode), {m['score_s']:.2f} s; "
          f"a policy scored one step at a time: {m['scoring_rate']:,.0f} steps/s")

    learner, config = m["learner"], m["config"]
    learner_steps = (learner.last_update + 1) * learner.n_envs * learner.n_steps
    learner_episodes = len(learner.observed) * config.eval_episodes
    observer_episodes = config.curve_points * config.eval_episodes
    phases = [
        ("learner recording", f"{learner_steps:,} steps", learner_steps / recorded_net),
        ("learner scoring", f"{len(learner.observed)} x {config.eval_episodes} episodes",
         learner_episodes * per_episode),
        ("expert's score (committed expert, deterministic)", f"{config.expert_eval_episodes} episodes",
         config.expert_eval_episodes * per_episode),
        ("observer PPO (behavioural clone not counted)", f"{config.observer_steps:,} steps",
         config.observer_steps / learned),
        ("observer scoring", f"{config.curve_points} x {config.eval_episodes} episodes",
         observer_episodes * per_episode),
    ]
    print(f"\nOne quick trial of {m['task']}: estimates from the rates measured above, not measurements. "
          f"Scoring is counted as whole {m['horizon']}-step episodes at the one-step-at-a-time "
          f"scoring rate ({per_episode:.2f} s an episode), an upper bound: a fall ends an episode early, "
          "and mean_return runs a policy's episodes side by side.\n")
    print("| phase | work | est. seconds |")
    print("|---|---:|---:|")
    for name, work, seconds in phases:
        print(f"| {name} | {work} | {seconds:.1f} |")
    print(f"| total | | {sum(s for _, _, s in phases):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["hopper"], choices=sorted(ENV_IDS))
    parser.add_argument("--steps", type=int, default=20480,
                        help="environment steps a PPO measurement (rounded up to whole updates of 8 x 256)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of the raw random-actions rate")
    parser.add_argument("--eval-episodes", type=int, default=1, help="episodes the recorder scores a policy on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each pair compared (fastest kept)")
    parser.add_argument("--fixed-horizon", action="store_true", help="the seals forms (no early termination)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# MuJoCo speed: {cores} cores, load average {load}; one torch thread, seed {args.seed}, "
          f"{'fixed' if args.fixed_horizon else 'variable'} horizon")
    for task in args.tasks:
        report(measure(task, args), args)


if __name__ == "__main__":
    main()
