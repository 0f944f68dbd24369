"""LfL's continuous fit at the paper's sizes: 5 observed batches of 2048 pairs (Hopper's 11-d
observations and 3-d actions), the default step counts (LfLNetworkConfig), one torch thread.

    python bench/lfl_fit_speed.py [--batches 5] [--pairs 2048] [--repeats 3]

Prints each fit's wall time and the time of each line group of Algorithm 1. The data are a random
linear-Gaussian policy sequence: the cost of a fit does not depend on the values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from gymnasium.spaces import Box

from envs.datasets import Batch, ObservationDataset
from envs.task import TaskInfo
from methods.lfl import LfLNetworkConfig, NetworkForm


def dataset(batches: int, pairs: int, obs_dim: int = 11, act_dim: int = 3, seed: int = 0) -> ObservationDataset:
    rng = np.random.default_rng(seed)
    gain = rng.normal(size=(obs_dim, act_dim)) * 0.1
    out = []
    for k in range(batches):
        obs = rng.normal(size=(pairs, obs_dim)).astype(np.float32)
        actions = (obs @ gain * (k + 1) / batches + rng.normal(size=(pairs, act_dim)) * 0.5).astype(np.float32)
        starts = np.zeros(pairs, dtype=bool)
        starts[::100] = True
        terminals = np.roll(starts, -1)
        out.append(Batch(obs, actions, np.roll(obs, -1, axis=0), starts, terminals))
    return ObservationDataset(tuple(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = dataset(args.batches, args.pairs)
    info = TaskInfo(name="bench", track="mujoco", gamma=0.99, observation_space=Box(-np.inf, np.inf, (11,)),
                    action_space=Box(-1, 1, (3,)))
    cfg = LfLNetworkConfig()
    print(f"LfL continuous fit: {args.batches} batches x {args.pairs} pairs, policy {cfg.policy_steps} / KL "
          f"{cfg.kl_steps} / init {cfg.reward_init_steps} / consistency {cfg.reward_steps} steps, 1 thread")
    for repeat in range(args.repeats):
        form, times = NetworkForm(cfg, data, info, seed=repeat), {}
        tick = start = time.perf_counter()
        policies = form.policies()
        times["policies (1-3)"], tick = time.perf_counter() - tick, time.perf_counter()
        rho = form.divergences(policies)
        times["KL (4-6)"], tick = time.perf_counter() - tick, time.perf_counter()
        reward = form.initial_reward()
        times["init (7-9)"], tick = time.perf_counter() - tick, time.perf_counter()
        form.consistent_reward(reward, policies, rho)
        times["consistency (10-13)"] = time.perf_counter() - tick
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
        print(f"fit {repeat + 1}: {time.perf_counter() - start:.1f} s ({parts})")


if __name__ == "__main__":
    main()
