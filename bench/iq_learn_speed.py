"""IQ-Learn's MuJoCo updates against plain SB3 SAC updates of the same network sizes on Hopper,
one torch thread: updates per second and their ratio (the target: at least 0.8).

    python bench/iq_learn_speed.py [--updates 100] [--repeats 5] [--online-steps 100]

Each model first fills its replay with `--fill` Hopper transitions (no update yet); the IQ-Learn
model's demonstrations are `--pairs` random pairs of Hopper's shapes (the cost of an update does
not depend on the values). Measured in short turns, model after model, so that a busy machine
slows every model alike: `train(updates)` alone (updates per second of wall time and of the
process's CPU time: on a shared machine the CPU time is the steadier), and `learn` for
`--online-steps` environment steps with one update each (wall steps/s, rollouts included).
Medians over the turns. IQ-Learn's update is on 256 expert + 256 replay transitions with one
256-256 critic (the authors' MuJoCo settings); plain SAC's with SB3's two critics (its default)
on 256 replay transitions, and with one critic (IQ-Learn's networks) on 256 and on 512 (as many
rows as IQ-Learn's update).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import configure

from envs.datasets import Batch
from envs.mujoco.envs import hidden_env_factory, spaces
from envs.mujoco.ppo import vec_env
from envs.task import Simulator, TaskInfo
from methods.iq_learn import ExpertTransitions, IQLearnContinuousConfig, build_iq_sac

BATCH, HIDDEN = 256, [256, 256]


def task_info() -> TaskInfo:
    observation_space, action_space = spaces("hopper", False)
    return TaskInfo(name="hopper", track="mujoco", gamma=0.99, observation_space=observation_space,
                    action_space=action_space, simulator=Simulator(make_env=hidden_env_factory("hopper", False)))


def demonstrations(pairs: int, info: TaskInfo, seed: int = 0) -> ExpertTransitions:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(pairs, info.observation_space.shape[0])).astype(np.float32)
    actions = rng.uniform(-1, 1, size=(pairs, info.action_space.shape[0])).astype(np.float32)
    terminals = np.zeros(pairs, dtype=bool)
    terminals[::200] = True
    batch = Batch(obs, actions, np.roll(obs, -1, axis=0), np.roll(terminals, 1), terminals)
    return ExpertTransitions(batch.observations, batch.actions, batch.next_observations, batch.terminals,
                             info.action_space.low, info.action_space.high)


def iq_model(info: TaskInfo, expert: ExpertTransitions, fill: int, seed: int):
    cfg = IQLearnContinuousConfig(initial_memory=fill, steps=10**6)
    return build_iq_sac(cfg, expert, info, seed, vec_env(info.simulator.make_env, 1, seed))


def sac_model(info: TaskInfo, fill: int, seed: int, n_critics: int, batch: int = BATCH) -> SAC:
    """SB3 SAC at IQ-Learn's sizes and rates (256-256, tau 0.005, fixed temperature)."""
    return SAC("MlpPolicy", vec_env(info.simulator.make_env, 1, seed), learning_rate=3e-4, buffer_size=10**6,
               learning_starts=fill, batch_size=batch, tau=0.005, gamma=0.99, train_freq=1, gradient_steps=1,
               ent_coef=0.01, policy_kwargs={"net_arch": HIDDEN, "n_critics": n_critics}, seed=seed, device="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--online-steps", type=int, default=100)
    parser.add_argument("--fill", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = task_info()
    models = {"iq_learn (1 critic, 256 + 256)": iq_model(info, demonstrations(args.pairs, info), args.fill, 0),
              "sac (2 critics, 256)": sac_model(info, args.fill, 0, 2),
              "sac (1 critic, 256)": sac_model(info, args.fill, 0, 1),
              "sac (1 critic, 512)": sac_model(info, args.fill, 0, 1, 2 * BATCH)}
    for model in models.values():  # the warm-up: `fill` transitions, no update yet
        model.learn(total_timesteps=args.fill, log_interval=None)
        model.set_logger(configure(None, []))
    models["iq_learn (1 critic, 256 + 256)"].initial_memory = 0  # (its `train` now always updates)
    print(f"Hopper, 256-256 actor and critic, one thread; {args.updates} updates and "
          f"{args.online_steps} online steps a turn, {args.repeats} turns (medians)")
    rates = {name: {"wall": [], "cpu": [], "online": []} for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            wall, cpu = time.perf_counter(), time.process_time()
            model.train(gradient_steps=args.updates, batch_size=model.batch_size)
            rates[name]["wall"].append(args.updates / (time.perf_counter() - wall))
            rates[name]["cpu"].append(args.updates / (time.process_time() - cpu))
        for name, model in models.items():
            wall = time.perf_counter()
            model.learn(total_timesteps=args.online_steps, reset_num_timesteps=False, log_interval=None)
            rates[name]["online"].append(args.online_steps / (time.perf_counter() - wall))
    median = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in rates.items()}
    iq = median[next(iter(models))]
    print(f"{'':32s} {'updates/s (wall)':>17s} {'(cpu)':>7s} {'online steps/s':>15s}   "
          "iq_learn / this (wall, cpu, online)")
    for name, m in median.items():
        ratio = "" if m is iq else "   " + ", ".join(f"{iq[k] / m[k]:.2f}x" for k in ("wall", "cpu", "online"))
        print(f"{name:32s} {m['wall']:17.1f} {m['cpu']:7.1f} {m['online']:15.1f}{ratio}")


if __name__ == "__main__":
    main()
