"""The stable-baselines3 and torch machinery of GCL's MuJoCo form (methods/gcl.py, whose module docstring
describes it): the reward network r_theta, the distillation of q from the demo density, SB3 policies'
censored densities, the per-rollout callback, and ContinuousGCL, Algorithms 1 and 2 around SB3 PPO."""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import Tensor, nn

from envs.datasets import ObservationDataset
from envs.mujoco.ppo import PPOSettings, make_ppo, torch_threads, vec_env
from envs.seeding import seeded_global_rngs
from methods.base import FitResult, RecoveredReward, TaskInfo
from methods.gcl import (GCLContinuousConfig, Segments, batch_segments, censored_log_prob, mixture_log_density,
                         mixture_weights, pack_segments, segment_bounds, segment_log_density, segment_loss)
from methods.nets import BatchedMLP, NetReward, Standardizer, fit_gaussian_policies, gaussian_kl, holdout_blocks

Array = np.ndarray


def sb3_log_prob(policy, low: Array, high: Array) -> Callable[[Tensor, Tensor], Tensor]:
    """The censored log-likelihood of executed actions under an SB3 Gaussian policy (which samples
    before clipping to the action bounds)."""
    low_t, high_t = torch.as_tensor(low), torch.as_tensor(high)

    def log_prob(obs: Tensor, actions: Tensor) -> Tensor:
        dist = policy.get_distribution(obs).distribution
        return censored_log_prob(dist.mean, dist.stddev.log(), actions, low_t, high_t)

    return log_prob


class SegmentReward(nn.Module):
    """r_theta(s, a): a tanh MLP on the standardized observation and executed action (actions are
    clipped to the bounds first: a sampled action counts as the action the simulator executed)."""

    def __init__(self, obs: Tensor, actions: Tensor, low: Array, high: Array, hidden: int,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.register_buffer("low", torch.as_tensor(np.asarray(low, dtype=np.float32)))
        self.register_buffer("high", torch.as_tensor(np.asarray(high, dtype=np.float32)))
        inputs = self.inputs(obs, actions)
        self.scale = Standardizer(inputs)
        self.body = BatchedMLP(1, (inputs.shape[-1], hidden, hidden, 1), generator)

    def inputs(self, obs: Tensor, actions: Tensor) -> Tensor:
        return torch.cat([obs, torch.maximum(torch.minimum(actions, self.high), self.low)], dim=-1)

    def forward(self, obs: Tensor, actions: Tensor, next_obs: Tensor | None = None) -> Tensor:
        x = self.scale(self.inputs(obs, actions))
        return self.body._one(0, x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1])

    def pairs(self, segments: Segments) -> Tensor:
        """(N, T) r_theta of each segment's pairs, 0 on padding."""
        return self(segments.obs, segments.actions) * segments.mask


def distill_policy(policy, density, obs: Tensor, *, steps: int, lr: float) -> float:
    """Fits an SB3 Gaussian actor in place to a GaussianPolicies' (n = 1) conditionals at `obs`:
    `steps` full-batch Adam steps on mean_s KL(density(.|s) || policy(.|s)); the final KL."""
    with torch.no_grad():
        mu_p, log_std_p = density.mu(obs[None])[0], density.log_std[0].expand(len(obs), -1)
    actor = [p for name, p in policy.named_parameters() if "value" not in name]

    def kl() -> Tensor:
        dist = policy.get_distribution(obs).distribution
        return gaussian_kl(mu_p, log_std_p, dist.mean, dist.stddev.log()).mean()

    optimizer = torch.optim.Adam(actor, lr=lr)
    for _ in range(steps):
        loss = kl()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(kl())


class _EachRollout(BaseCallback):
    """Calls `handle(model, env_rewards, terminated, last_values, last_dones)` after each rollout is
    collected and before PPO trains on it; records per step the environment's rewards (before SB3
    adds its time-limit bootstrap) and which episode ends were terminations."""

    def __init__(self, handle) -> None:
        super().__init__()
        self.handle = handle
        self.rewards: list[Array] = []
        self.terminated: list[Array] = []

    def _on_rollout_start(self) -> None:
        self.rewards, self.terminated = [], []

    def _on_step(self) -> bool:
        dones, infos = self.locals["dones"], self.locals["infos"]
        self.rewards.append(np.array(self.locals["rewards"], dtype=np.float32, copy=True))
        self.terminated.append(np.array([bool(d) and not info.get("TimeLimit.truncated", False)
                                         for d, info in zip(dones, infos)]))
        return True

    def _on_rollout_end(self) -> None:
        self.handle(self.model, np.stack(self.rewards), np.stack(self.terminated), self.locals["values"],
                    self.locals["dones"])


class ContinuousGCL:
    """Algorithms 1 and 2 with a reward network and SB3 PPO as q; see the module docstring."""

    def __init__(self, cfg: GCLContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> None:
        self.cfg = cfg
        space = task.action_space
        self.low, self.high = np.asarray(space.low, dtype=np.float32), np.asarray(space.high, dtype=np.float32)
        batches = data.last(cfg.demo_batches)
        self.demos = batch_segments(batches, cfg.horizon)
        if len(self.demos) == 0:
            raise ValueError(f"GCL: the demonstrations have no segment of horizon={cfg.horizon} pairs (nor a "
                             "shorter one that ends by termination)")
        self.demo_obs = torch.as_tensor(np.concatenate([b.observations for b in batches]), dtype=torch.float32)
        self.demo_actions = torch.as_tensor(np.concatenate([b.actions for b in batches]), dtype=torch.float32)
        self.rng = np.random.default_rng(seed)
        self.env_seed, self.torch_seed = (int(x) for x in self.rng.integers(0, 2**31 - 1, size=2))
        self.generator = torch.Generator().manual_seed(seed)
        self.task = task
        self.pool: list[tuple[Segments, object]] = []  # per iteration: its segments, a frozen copy of its q
        self.stats: dict[str, float] = {}

    def fit(self) -> FitResult:
        cfg = self.cfg
        with seeded_global_rngs(self.torch_seed), torch_threads(1):
            obs, actions = self.demo_obs, self.demo_actions
            mask = torch.ones(1, len(obs))
            density = fit_gaussian_policies(obs[None], actions[None], mask, steps=cfg.density_steps, lr=1e-3,
                                            entropy_coef=0.0, generator=self.generator,
                                            bounds=(self.low, self.high), holdout=holdout_blocks(mask))
            self.density = lambda o, a: density.log_prob(o[None], a[None])[0]  # noqa: E731
            with torch.no_grad():  # h: pi_demo's entropy per step, estimated on the demo pairs (nats)
                self.entropy = -float(self.density(obs, actions).mean())
            self.demo_log_density = segment_log_density(self.density, self.demos, self.entropy)
            self.reward = SegmentReward(obs, actions, self.low, self.high, cfg.hidden, self.generator)
            self.optimizer = torch.optim.Adam(self.reward.parameters(), lr=cfg.lr)
            venv = vec_env(self.task.simulator.make_env, cfg.n_envs, self.env_seed)
            settings = PPOSettings(n_envs=cfg.n_envs, n_steps=cfg.n_steps, n_minibatches=cfg.ppo_minibatches,
                                   n_epochs=cfg.ppo_epochs, learning_rate=cfg.ppo_lr, gamma=self.task.gamma,
                                   normalize=False)  # the sampler reads its rollout buffer's raw observations
            model = make_ppo(venv, settings, self.torch_seed)
            if cfg.policy_init == "demos":
                self.stats["init_kl"] = distill_policy(model.policy, density, obs, steps=cfg.init_steps, lr=1e-3)
            model.learn(total_timesteps=cfg.total_timesteps, callback=_EachRollout(self.iterate))
            venv.close()
        self.reward.requires_grad_(False)
        diagnostics = {"demo_segments": len(self.demos), "horizon": cfg.horizon,
                       "iterations": int(model.num_timesteps) // settings.steps_per_update,
                       "env_steps": int(model.num_timesteps), "temperature": cfg.temperature,
                       "demo_density_entropy": self.entropy,
                       "demo_terminated_fraction": float((self.demos.mask.sum(1) < cfg.horizon).float().mean()),
                       **self.stats}
        with torch.no_grad():
            diagnostics["reward_demo_mean"] = float(self.reward.pairs(self.demos).sum() / self.demos.mask.sum())
        return FitResult(RecoveredReward(function=NetReward(self.reward)), policy=model.policy,
                         diagnostics=diagnostics)

    def iterate(self, model, env_rewards: Array, terminated: Array, last_values: Tensor, last_dones: Array) -> None:
        """One GCL iteration on q_i's rollout (SB3 has collected it; PPO trains on it next)."""
        cfg, buffer = self.cfg, model.rollout_buffer
        obs, sampled, starts = buffer.observations, buffer.actions, buffer.episode_starts  # (n_steps, n_envs, ...)
        executed = np.clip(sampled, self.low, self.high)
        new = Segments.cat([pack_segments(obs[:, i], executed[:, i],
                                          segment_bounds(starts[:, i], terminated[:, i], cfg.horizon), cfg.horizon)
                            for i in range(obs.shape[1])])
        if len(new):
            q_i = copy.deepcopy(model.policy)
            q_i.set_training_mode(False)
            self.pool = (self.pool + [(new, q_i)])[-cfg.history:]
        if self.pool and cfg.reward_steps:
            self.update_cost()
        # Alg. 1's policy update on the current cost, the MaxEnt objective E_q[R] + T_temp H(q) in the
        # densities' unit: relabel the rollout with r - T_temp (ln q_i(a|s) + h), then PPO trains on it
        n_steps, n_envs = obs.shape[:2]
        with torch.no_grad():
            o = torch.as_tensor(obs).reshape(n_steps * n_envs, -1)
            a = torch.as_tensor(executed).reshape(n_steps * n_envs, -1)
            r = self.reward(o, a).reshape(n_steps, n_envs).numpy()
            log_q = sb3_log_prob(model.policy, self.low, self.high)(o, a).reshape(n_steps, n_envs).numpy()
        bonus = -cfg.temperature * (log_q + self.entropy)
        buffer.rewards[:] = buffer.rewards - env_rewards + r + bonus  # keeps SB3's time-limit bootstrap terms
        buffer.compute_returns_and_advantage(last_values=last_values, dones=last_dones)
        self.stats.update({"sample_reward_mean": float(r.mean()), "sample_entropy_bonus_mean": float(bonus.mean())})

    def update_cost(self) -> None:
        """Alg. 2: reward_steps Adam steps on minibatches of demos and pool segments."""
        cfg = self.cfg
        samples = Segments.cat([segments for segments, _ in self.pool])
        counts = np.array([len(segments) for segments, _ in self.pool])
        policies = [sb3_log_prob(q, self.low, self.high) for _, q in self.pool]
        # ln q_c(tau) of every pool segment and demo under the demo density and every pool policy
        h = self.entropy
        samples_log_q = torch.stack([segment_log_density(self.density, samples, h)]
                                    + [segment_log_density(p, samples, h) for p in policies], dim=1)
        demos_log_q = torch.stack([self.demo_log_density] + [segment_log_density(p, self.demos, h) for p in policies],
                                  dim=1)
        for _ in range(cfg.reward_steps):
            d, b = self._minibatch(len(self.demos)), self._minibatch(len(samples))
            weights = mixture_weights(len(d) / (len(d) + len(b)), counts)
            log_q_mix = mixture_log_density(torch.cat([demos_log_q[d], samples_log_q[b]]), weights)
            demo_r, sample_r = self.reward.pairs(self.demos[d]), self.reward.pairs(samples[b])
            demo_returns = demo_r.sum(dim=1).double()
            background = torch.cat([demo_returns, sample_r.sum(dim=1).double()])
            n_pairs = self.demos.mask[d].sum() + samples.mask[b].sum()
            l2 = 0.5 * cfg.l2 * (demo_r.pow(2).sum() + sample_r.pow(2).sum()) / n_pairs
            loss = segment_loss(demo_returns, background, log_q_mix, cfg.temperature) + l2
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        with torch.no_grad():  # the last minibatch's importance weights: their effective sample size
            w = torch.softmax(background.detach() / cfg.temperature - log_q_mix, dim=0)
        self.stats.update({"final_loss": float(loss.detach()), "ess_fraction": float(1.0 / w.pow(2).sum() / len(w)),
                           "pool_segments": int(len(samples)), "pool_policies": len(self.pool),
                           "demo_return_mean": float(demo_returns.detach().mean()),
                           "sample_return_mean": float(background[len(d):].detach().mean()),
                           "sample_terminated_fraction": float((samples.mask.sum(1) < cfg.horizon).float().mean())})

    def _minibatch(self, n: int) -> Array:
        size = self.cfg.batch_size
        return np.arange(n) if size == 0 else self.rng.integers(n, size=size)
