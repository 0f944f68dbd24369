"""DAC's off-policy updates against plain SB3 TD3 of the same network sizes, on Hopper, one torch thread.

    python bench/dac_speed.py [--updates 50] [--repeats 8] [--fill 1000]

Both models first fill their replay buffers with `fill` random-action steps (no update), then are
timed two ways in blocks of `updates`, the methods alternating block by block `repeats` times (the
medians are printed). Times are the process's CPU time (time.process_time; one torch thread), so
that other work on a shared machine slows neither model's figure:
  updates  `updates` calls of train(1), what learn() runs after each environment step at
           train_freq = 1 (plain: TD3's update; DAC: one discriminator step + TD3's update, whose
           minibatch rewards the discriminator relabels), no environment stepping;
  learn    learn() for `updates` environment steps: acting, stepping Hopper, storing, updating.
DAC's expert inputs are random (the cost of an update does not depend on the values); its
generator is methods.dac's (absorbing wrapper, relabelling replay buffer, actor delay 0 here so
that both models update their actors from the first update).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.noise import NormalActionNoise

from envs.datasets import Batch
from envs.mujoco.envs import hidden_env_factory, spaces
from envs.mujoco.ppo import vec_env
from envs.seeding import seeded_global_rngs
from envs.task import Simulator, TaskInfo
from methods.dac import DACContinuousConfig, DiscriminatorTrainer, expert_inputs, make_generator, make_mlp_discriminator


def hopper_info() -> TaskInfo:
    observation_space, action_space = spaces("hopper", False)
    return TaskInfo(name="hopper", track="mujoco", gamma=0.99, observation_space=observation_space,
                    action_space=action_space, simulator=Simulator(make_env=hidden_env_factory("hopper", False)))


def dac_model(cfg: DACContinuousConfig, info: TaskInfo, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs_dim, act_dim = info.observation_space.shape[0], info.action_space.shape[0]
    starts = np.zeros(4000, dtype=bool)
    starts[::1000] = True
    demo = Batch(rng.normal(size=(4000, obs_dim)).astype(np.float32),
                 rng.uniform(-1, 1, size=(4000, act_dim)).astype(np.float32),
                 rng.normal(size=(4000, obs_dim)).astype(np.float32), starts, np.zeros(4000, dtype=bool))
    low, high = info.action_space.low, info.action_space.high
    x, w, _ = expert_inputs(demo, 20, True, low, high, rng)
    generator = torch.Generator().manual_seed(seed)
    trainer = DiscriminatorTrainer(make_mlp_discriminator(x.shape[1], cfg.disc_hidden, generator), x, w, cfg, generator)
    return make_generator(cfg, info, trainer, seed)


def td3_model(cfg: DACContinuousConfig, info: TaskInfo, seed: int = 0) -> TD3:
    """Stock SB3 TD3 with DAC's TD3 settings (400-300 ReLU, batch 100, train_freq 1)."""
    act_dim = info.action_space.shape[0]
    return TD3("MlpPolicy", vec_env(info.simulator.make_env, 1, seed), learning_rate=cfg.critic_lr,
               buffer_size=2 * cfg.total_steps + 1, learning_starts=cfg.learning_starts, batch_size=cfg.batch_size,
               tau=cfg.tau, gamma=info.gamma, train_freq=1, gradient_steps=1,
               action_noise=NormalActionNoise(np.zeros(act_dim), cfg.exploration_noise * np.ones(act_dim)),
               policy_delay=cfg.policy_delay, target_policy_noise=cfg.policy_noise, target_noise_clip=cfg.noise_clip,
               policy_kwargs={"net_arch": [cfg.td3_hidden_1, cfg.td3_hidden_2], "activation_fn": torch.nn.ReLU},
               seed=seed, device="cpu")


def time_updates(model, n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        model.train(gradient_steps=1, batch_size=model.batch_size)
    return n / (time.process_time() - start)


def time_learn(model, n: int) -> float:
    start = time.process_time()
    model.learn(total_timesteps=n, reset_num_timesteps=False)
    return n / (time.process_time() - start)


def time_parts(model, n: int) -> tuple[float, float]:
    """DAC's two halves apart: discriminator steps/s, TD3-with-relabelling steps/s."""
    start = time.process_time()
    for _ in range(n):
        model.discriminator.update(model.replay_buffer.sample_inputs(model.batch_size))
    disc = n / (time.process_time() - start)
    start = time.process_time()
    for _ in range(n):
        TD3.train(model, 1, model.batch_size)
    return disc, n / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--fill", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = hopper_info()
    total = args.fill + (args.repeats + 1) * args.updates
    cfg = DACContinuousConfig(total_steps=total, learning_starts=args.fill, random_steps=args.fill, actor_delay=0)
    with seeded_global_rngs(0):
        models = {"plain SB3 TD3": td3_model(cfg, info), "DAC (disc + TD3)": dac_model(cfg, info)}
        for model in models.values():
            model.learn(total_timesteps=args.fill)  # random actions, no update (num_timesteps <= learning_starts)
            model.train(gradient_steps=1, batch_size=model.batch_size)  # warm up
        rates: dict[str, dict[str, list[float]]] = {name: {"updates": [], "learn": []} for name in models}
        parts: list[tuple[float, float]] = []
        for _ in range(args.repeats):
            for name, model in models.items():
                rates[name]["updates"].append(time_updates(model, args.updates))
                rates[name]["learn"].append(time_learn(model, args.updates))
            parts.append(time_parts(models["DAC (disc + TD3)"], args.updates))
    print(f"Hopper, 1 torch thread, CPU time, {args.repeats} alternating blocks of {args.updates} (median), TD3 "
          f"{cfg.td3_hidden_1}-{cfg.td3_hidden_2} ReLU, discriminator {cfg.disc_hidden}-{cfg.disc_hidden} tanh + "
          f"gradient penalty, batch {cfg.batch_size}")
    print(f"{'':<20} {'updates/s':>10} {'ms/update':>10} {'env steps/s (learn)':>20}")
    median = {name: {k: statistics.median(v) for k, v in r.items()} for name, r in rates.items()}
    for name, r in median.items():
        print(f"{name:<20} {r['updates']:>10.1f} {1e3 / r['updates']:>10.2f} {r['learn']:>20.1f}")
    disc, td3 = (statistics.median(p) for p in zip(*parts))
    print(f"{'  discriminator step':<20} {disc:>10.1f} {1e3 / disc:>10.2f}")
    print(f"{'  TD3 step, relabel':<20} {td3:>10.1f} {1e3 / td3:>10.2f}")
    plain, dac = median["plain SB3 TD3"], median["DAC (disc + TD3)"]
    print(f"ratio DAC / plain: updates {dac['updates'] / plain['updates']:.2f}x, "
          f"learn {dac['learn'] / plain['learn']:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
