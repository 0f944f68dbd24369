"""DAC's continuous machinery that subclasses torch, gymnasium and stable-baselines3 classes: the
generator's environment wrapper, replay buffer, critic and policy, the observer's logit reward and
the generator itself (SB3's TD3). The algorithm, its configuration and its fit live in methods/dac.py;
these are imported from there when a continuous fit runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from methods.dac import absorbing_state, with_indicator

if TYPE_CHECKING:
    from methods.dac import DACContinuousConfig, DiscriminatorTrainer

Array = np.ndarray


# --- the absorbing-state wrapper ------------------------------------------------------------------

class AbsorbingObservations(gym.ObservationWrapper):
    """The generator's environment: observations with the absorbing indicator 0 appended (float32)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(np.append(space.low, 0.0).astype(np.float32),
                                                np.append(space.high, 1.0).astype(np.float32), dtype=np.float32)

    def observation(self, observation: Array) -> Array:
        return with_indicator(observation)


class AbsorbingReplayBuffer(ReplayBuffer):
    """SB3's replay buffer with DAC's treatment of episode ends, storing no reward at all: a
    termination (done, not a time limit) is stored as (s, a, s_abs, not done) and (s_abs, 0, s_abs,
    not done); a time-limit end as (s, a, s', not done) (the value is bootstrapped); with absorbing
    "off" a termination is an ordinary done. Every stored reward is 0 (the environment's, hidden or
    not, is dropped); `sample` returns TD3's minibatches with rewards r = reward_fn(s, a), the
    current discriminator's logit."""

    absorbing: bool = True
    reward_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def add(self, obs, next_obs, action, reward, done, infos) -> None:  # noqa: ANN001 (SB3's signature)
        assert len(done) == 1, "one environment"
        zero, no = np.zeros(1, dtype=np.float32), np.zeros(1, dtype=bool)
        terminal = bool(done[0]) and not infos[0].get("TimeLimit.truncated", False)
        if terminal and self.absorbing:
            s_abs = absorbing_state(obs.shape[-1] - 1)[None]
            super().add(obs, s_abs, action, zero, no, [{}])
            super().add(s_abs, s_abs, np.zeros_like(action), zero, no, [{}])
        else:
            super().add(obs, next_obs, action, zero, np.array([terminal and not self.absorbing]), [{}])

    def sample(self, batch_size: int, env=None):  # noqa: ANN001
        data = super().sample(batch_size, env)
        with torch.no_grad():
            rewards = self.reward_fn(data.observations, data.actions).reshape(-1, 1)
        return data._replace(rewards=rewards)

    def sample_inputs(self, batch_size: int) -> torch.Tensor:
        """(batch, obs + 1 + act) discriminator inputs [s, indicator, a] of uniformly drawn stored pairs."""
        rows = np.random.randint(0, self.size(), size=batch_size)
        return torch.as_tensor(np.concatenate([self.observations[rows, 0], self.actions[rows, 0]], axis=1))


class AbsorbingCritic(ContinuousCritic):
    """TD3's twin critics with the action ignored in the absorbing state: Q(s_abs, a) = Q(s_abs, 0),
    the authors' zeroed next actions at absorbing next states (ddpg_td3.py's a_mask)."""

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return super().forward(obs, actions * (1.0 - obs[:, -1:]))

    def q1_forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return super().q1_forward(obs, actions * (1.0 - obs[:, -1:]))


class AbsorbingTD3Policy(TD3Policy):
    def make_critic(self, features_extractor=None) -> AbsorbingCritic:  # noqa: ANN001
        kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return AbsorbingCritic(**kwargs).to(self.device)


# --- the discriminator's reward -------------------------------------------------------------------

class LogitReward(nn.Module):
    """The observer's reward: logit D([s, 0], scaled a) at the real (non-absorbing) state."""

    def __init__(self, net: nn.Module, low: Array, high: Array) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        scaled = 2.0 * (actions - self.low) / (self.high - self.low) - 1.0
        return self.net(torch.cat([obs, torch.zeros(len(obs), 1), scaled], dim=1)).squeeze(1)


# --- the generator: SB3's TD3 ----------------------------------------------------------------------

class DiscriminatorActorCritic(TD3):
    """SB3's TD3 as DAC's generator. Its own update (TD3.train) is unchanged; around it: one
    discriminator step before each TD3 step, minibatch rewards from the replay buffer's relabelling,
    the actor's learning rate (0 for the first actor_delay critic updates, then actor_lr halved every
    actor_lr_halving steps), its gradient clipped to actor_grad_clip, and random actions until
    random_steps and the actor's first update (the authors' sample_random)."""

    def configure_dac(self, discriminator: DiscriminatorTrainer, cfg: DACContinuousConfig) -> None:
        self.discriminator, self.dac = discriminator, cfg
        self.actor_updates = 0
        self.actor.optimizer.register_step_pre_hook(self._before_actor_step)

    def _before_actor_step(self, optimizer: torch.optim.Optimizer, args, kwargs) -> None:  # noqa: ANN001
        if optimizer.param_groups[0]["lr"] == 0.0:
            return  # the actor's delay: the step leaves the parameters as they are
        if self.actor_updates == 0:
            optimizer.state.clear()  # Adam starts afresh with the actor's first real update
        self.actor_updates += 1
        nn.utils.clip_grad_norm_(self.actor.parameters(), self.dac.actor_grad_clip)

    def _update_learning_rate(self, optimizers) -> None:  # noqa: ANN001
        cfg = self.dac
        actor_lr = (0.0 if self._n_updates < cfg.actor_delay
                    else cfg.actor_lr * 0.5 ** (self.num_timesteps // cfg.actor_lr_halving))
        for optimizer, lr in ((self.actor.optimizer, actor_lr), (self.critic.optimizer, cfg.critic_lr)):
            for group in optimizer.param_groups:
                group["lr"] = lr

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        for _ in range(gradient_steps):
            self.discriminator.update(self.replay_buffer.sample_inputs(batch_size))
            super().train(1, batch_size)

    def _sample_action(self, learning_starts: int, action_noise=None, n_envs: int = 1):  # noqa: ANN001
        warm_up = self.num_timesteps < self.dac.random_steps or self.actor_updates == 0
        return super()._sample_action(self.num_timesteps + 1 if warm_up else 0, action_noise, n_envs)
