"""IQ-Learn's MuJoCo machinery that subclasses torch and stable-baselines3 classes: `IQLearnSAC`
(SB3's SAC with IQ-Learn's critic loss) and the observer's reward `InverseSoftBellmanReward`, with
the helpers only they use. The algorithm, its configuration and its fit live in methods/iq_learn.py;
these are imported from there when a MuJoCo fit runs."""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update

from methods.iq_learn import TERMS, ExpertTransitions, continuous_iq_loss, scale_actions, value_rows

Array = np.ndarray


def min_q(critic: torch.nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """(N,) the smallest of the critics' Q(s, a) (the only one with a single critic)."""
    return torch.cat(critic(obs, actions), dim=1).min(dim=1).values


class IQLearnSAC(SAC):
    """SB3's SAC whose critic minimises IQ-Learn's inverse soft-Q loss on expert (+ replay) batches
    instead of the soft Bellman error; the actor step, the target critic and (online) the rollouts
    and the replay are SAC's. `train` is what SB3's `learn` calls after each environment step;
    offline, call it directly. The replay's rewards (0: the simulator hides them) are never read."""

    def __init__(self, *args, expert: ExpertTransitions, online: bool, loss: str, chi2_on: str, chi_alpha: float,
                 initial_memory: int, generator: torch.Generator, average_from: int, **kwargs) -> None:
        self.expert, self.online, self.iq_loss, self.chi2_on, self.chi_alpha = expert, online, loss, chi2_on, chi_alpha
        self.initial_memory, self.generator, self.average_from = initial_memory, generator, average_from
        self.term_sums, self.term_count = torch.zeros(len(TERMS)), 0
        super().__init__(*args, **kwargs)

    def train(self, gradient_steps: int, batch_size: int = 256) -> None:
        if self.online and self.replay_buffer.size() <= self.initial_memory:
            return  # the authors' initial memory: the agent's own transitions, no update yet
        self.policy.set_training_mode(True)
        for _ in range(gradient_steps):
            terms = self.iq_update(batch_size)
            if self._n_updates >= self.average_from:  # diagnostics: means over the last updates
                self.term_sums += terms
                self.term_count += 1
            self._n_updates += 1

    def iq_update(self, batch_size: int) -> torch.Tensor:
        """One critic step on IQ-Learn's loss, one SAC actor step, one soft target update."""
        obs, actions, next_obs, dones = self.expert.sample(batch_size, self.generator)
        n_policy = 0
        if self.online:  # B = B_pi ++ B_E
            replay = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            n_policy = len(replay.dones)  # (SB3 stores observations in the space's dtype, float64 on MuJoCo)
            obs, actions = torch.cat([replay.observations.float(), obs]), torch.cat([replay.actions.float(), actions])
            next_obs = torch.cat([replay.next_observations.float(), next_obs])
            dones = torch.cat([replay.dones[:, 0].float(), dones])
        temperature = self.ent_coef_tensor
        # a~ ~ pi(s), reparameterised: held fixed in V(s) for the critic, differentiated in the actor step
        actions_pi, log_prob = self.actor.action_log_prob(obs)
        with torch.no_grad():  # y = (1 - done) gamma V_target(s'), a' ~ pi(s') (train.use_target)
            next_actions, next_log_prob = self.actor.action_log_prob(next_obs)
            y = (1.0 - dones) * self.gamma * (min_q(self.critic_target, next_obs, next_actions)
                                             - temperature * next_log_prob)
        # Q(s, a) and Q(s, a~) in one pass of each critic, the latter where the value term reads V(s)
        n, rows = len(obs), value_rows(self.iq_loss, n_policy)
        both = torch.cat(self.critic(torch.cat([obs, obs[rows]]), torch.cat([actions, actions_pi[rows].detach()])),
                         dim=1)
        q, q_pi = both[:n], both[n:]
        v = q_pi.min(dim=1).values - temperature * log_prob[rows].detach()
        kwargs = dict(gamma=self.gamma, chi_alpha=self.chi_alpha, loss=self.iq_loss, chi2_on=self.chi2_on)
        losses = [continuous_iq_loss(q[:, i], v, y, n_policy, **kwargs) for i in range(q.shape[1])]
        critic_loss = sum(loss for loss, _ in losses) / len(losses)  # DoubleQ: the mean of both (authors')
        self.critic.optimizer.zero_grad()
        critic_loss.backward()
        self.critic.optimizer.step()
        # SAC's actor step on the same states (the authors: expert and policy states online, expert offline)
        self.critic.requires_grad_(False)  # (no critic gradients from the actor's loss: SB3 drops them anyway)
        actor_loss = (temperature * log_prob - min_q(self.critic, obs, actions_pi)).mean()
        self.actor.optimizer.zero_grad()
        actor_loss.backward()
        self.actor.optimizer.step()
        self.critic.requires_grad_(True)
        polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
        polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)
        with torch.no_grad():
            implied = q.min(dim=1).values - y
            policy_mean = implied[:n_policy].mean() if n_policy else torch.tensor(float("nan"))
            return torch.cat([sum(t for _, t in losses) / len(losses),
                              torch.stack([actor_loss.detach(), implied[n_policy:].mean(), policy_mean])])

    def mean_terms(self) -> dict[str, float]:
        means = self.term_sums / max(self.term_count, 1)
        return {name: float(value) for name, value in zip(TERMS, means) if np.isfinite(float(value))}


def mean_action_value(policy, obs: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N,) V_mean(s) = Q(s, mu(s)) - T log pi(mu(s)|s) at the actor's mean action mu = tanh(mean)."""
    mean, log_std, kwargs = policy.actor.get_action_dist_params(obs)
    distribution = policy.actor.action_dist.proba_distribution(mean, log_std, **kwargs)
    action = torch.tanh(mean)
    return min_q(policy.critic, obs, action) - temperature * distribution.log_prob(action, mean)


class InverseSoftBellmanReward(torch.nn.Module):
    """r(s, a, s') = Q(s, a) - gamma V_mean(s') of a trained SAC policy (SB3's, its critic and
    actor): three (N, dim) float32 tensors (environment actions) -> (N,)."""

    def __init__(self, policy, gamma: float, temperature: float, low: Array, high: Array) -> None:
        super().__init__()
        self.policy, self.gamma, self.temperature = policy, gamma, temperature
        self.register_buffer("low", torch.as_tensor(np.asarray(low, dtype=np.float32)))
        self.register_buffer("high", torch.as_tensor(np.asarray(high, dtype=np.float32)))

    def q(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return min_q(self.policy.critic, obs, scale_actions(actions, self.low, self.high))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return mean_action_value(self.policy, obs, self.temperature)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        return self.q(obs, actions) - self.gamma * self.value(next_obs)
