"""Where one MuJoCo trial's time goes: the learner's PPO training and the scoring of its observed
policies, the expert's scoring, the method's fit, the observer's clone, its PPO training on the
recovered reward and its scoring. Runs the real trial (a fresh dataset cache, the expert cache as
set by $IRLBENCH_CACHE) with timers around those functions; time is counted once, in the
innermost timed call.

    python bench/mujoco_trial_cost.py [--suite lfl-table3] [--task hopper] [--method lfl] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import stable_baselines3

import benchmark.observers as observers
import envs.mujoco.ppo as ppo
import envs.mujoco.task as mujoco_task
from benchmark.backends import match_threads
from benchmark.config import expand, load_suite
from benchmark.pipeline import run_trial
from methods.registry import METHODS

spent: dict[str, float] = defaultdict(float)
stack: list[list] = []  # [label, start of its own time]


def timed(function, label):
    """`function`, adding its own time (not its timed callees') to spent[label()]."""

    def wrapper(*args, **kwargs):
        now = time.perf_counter()
        if stack:
            spent[stack[-1][0]] += now - stack[-1][1]
        stack.append([label() if callable(label) else label, now])
        try:
            return function(*args, **kwargs)
        finally:
            done = time.perf_counter()
            own = stack.pop()
            spent[own[0]] += done - own[1]
            if stack:
                stack[-1][1] = done

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="lfl-table3")
    parser.add_argument("--task", default="hopper")
    parser.add_argument("--method", default="lfl")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = next(c for c in expand(load_suite(args.suite), seeds=args.seed + 1, profile=args.profile)
                  if c["task"]["name"] == args.task and c["method"]["name"] == args.method and not c["label"]
                  and c["seed"] == args.seed)
    within = lambda label: any(s[0] == label for s in stack)  # noqa: E731
    ppo._episode_stats = timed(ppo._episode_stats, lambda: "learner: scoring" if within("learner") else
                               "observer: scoring" if within("observer") else "expert and random: scoring")
    stable_baselines3.PPO.learn = timed(stable_baselines3.PPO.learn, lambda: "learner: PPO" if within("learner") else
                                        "observer: PPO" if within("observer") else "expert: PPO training")
    mujoco_task.record_learner = timed(mujoco_task.record_learner, "learner")
    observers.behaviour_clone = timed(observers.behaviour_clone, "observer: clone")
    observers.OBSERVERS["mujoco"] = timed(observers.OBSERVERS["mujoco"], "observer")
    if args.method in METHODS:
        METHODS[args.method].fit = timed(METHODS[args.method].fit, "fit")
    match_threads(1)  # as a trial runs on either backend: one thread
    with tempfile.TemporaryDirectory() as cache:
        ppo.expert_cache_dir().mkdir(parents=True, exist_ok=True)
        (Path(cache) / "experts").symlink_to(ppo.expert_cache_dir())  # a dataset recorded afresh, experts reused
        start = time.perf_counter()
        record = run_trial(config, cache_dir=Path(cache) / "datasets")
        total = time.perf_counter() - start
    print(f"{args.suite} {args.task} {args.method} seed {args.seed} ({args.profile}): {record['status']}, "
          f"normalized {record['metrics'].get('normalized_score', float('nan')):.2f}, {total:.1f} s")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:28s} {seconds:7.1f} s  {100 * seconds / total:5.1f}%")
    print(f"  {'other':28s} {total - sum(spent.values()):7.1f} s")


if __name__ == "__main__":
    main()
