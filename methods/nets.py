"""Small torch networks the continuous forms of the methods share: Gaussian policies fitted by
maximum likelihood, multi-head regressors, and the full-batch Adam loop that trains them.

Every network standardizes its inputs with statistics fixed from the observed data (raw MuJoCo
observations span several orders of magnitude; the learner's PPO saw them raw, a regressor
should not). Parameters are initialised from an explicit torch.Generator, so a fit is a
deterministic function of its data and seed on one thread.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

Tensor = torch.Tensor


class Standardizer(nn.Module):
    """x -> (x - mean) / std with mean and std fixed from data (std floored: constant features)."""

    def __init__(self, data: Tensor) -> None:
        super().__init__()
        flat = data.reshape(-1, data.shape[-1])
        self.register_buffer("mean", flat.mean(dim=0))
        self.register_buffer("std", flat.std(dim=0).clamp_min(1e-3) if len(flat) > 1 else torch.ones(flat.shape[1]))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def uniform_(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> nn.Parameter:
    """PyTorch's default Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from `generator`."""
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound)


class BatchedMLP(nn.Module):
    """n independent MLPs (tanh, or `activation`) of the same sizes, evaluated together: (n, N, in) -> (n, N, out)."""

    def __init__(self, n: int, sizes: Iterable[int], generator: torch.Generator,
                 activation: Callable[[Tensor], Tensor] = torch.tanh) -> None:
        super().__init__()
        sizes = list(sizes)
        self.activation = activation
        self.weights = nn.ParameterList([uniform_((n, a, b), a, generator) for a, b in zip(sizes, sizes[1:])])
        self.biases = nn.ParameterList([uniform_((n, 1, b), a, generator) for a, b in zip(sizes, sizes[1:])])

    def forward(self, x: Tensor) -> Tensor:
        # one addmm per model: ~30% faster than baddbmm on a CPU at these sizes
        return torch.stack([self._one(j, x[j]) for j in range(len(x))])

    def _one(self, j: int, x: Tensor) -> Tensor:
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.addmm(b[j], x, w[j])
            if i < len(self.weights) - 1:
                x = self.activation(x)
        return x


class GaussianPolicies(nn.Module):
    """n Gaussian policies pi_j(a|s) = N(mu_j(s), diag(exp(2 log_std_j))), PPO's actor (Schulman
    et al. 2017): a 64-64 tanh mean network and a state-independent log standard deviation.

    bounds (low, high): the actions were clipped to them as they were executed, so an action on a
    bound is a censored observation, whose likelihood is the Gaussian's mass beyond the bound (a
    density there would read clipping as a narrow policy)."""

    def __init__(self, n: int, observations: Tensor, action_dim: int, generator: torch.Generator,
                 hidden: int = 64, bounds: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        super().__init__()
        self.scale = Standardizer(observations)
        self.mean = BatchedMLP(n, (observations.shape[-1], hidden, hidden, action_dim), generator)
        self.log_std = nn.Parameter(torch.zeros(n, 1, action_dim))
        self.bounds = None if bounds is None else tuple(torch.as_tensor(np.asarray(b, dtype=np.float32)) for b in bounds)

    def log_prob(self, obs: Tensor, actions: Tensor) -> Tensor:
        """(n, N, obs_dim), (n, N, act_dim) -> (n, N): log pi_j of row j's pairs."""
        z = (actions - self.mu(obs)) / self.log_std.exp()
        log_p = -0.5 * z.pow(2) - self.log_std - 0.5 * math.log(2 * math.pi)
        if self.bounds is not None:
            low, high = self.bounds
            upper, censored = actions >= high, (actions >= high) | (actions <= low)
            # the tail's log-mass, computed on the censored entries only (a third of them on Hopper)
            tail = torch.special.log_ndtr(torch.where(upper, -z, z)[censored])
            log_p = log_p.masked_scatter(censored, tail)
        return log_p.sum(dim=-1)

    def entropy(self) -> Tensor:
        """(n,) the entropy of each policy (the same in every state)."""
        return (self.log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(dim=-1).reshape(-1)

    def mu(self, obs: Tensor) -> Tensor:
        """(n, N, act_dim) each policy's mean action at row j's states."""
        return self.mean(self.scale(obs))


def gaussian_kl(mu_p: Tensor, log_std_p: Tensor, mu_q: Tensor, log_std_q: Tensor) -> Tensor:
    """KL(N(mu_p, std_p^2) || N(mu_q, std_q^2)) of diagonal Gaussians, summed over the last axis."""
    var_p, var_q = (2 * log_std_p).exp(), (2 * log_std_q).exp()
    return (log_std_q - log_std_p + (var_p + (mu_p - mu_q).pow(2)) / (2 * var_q) - 0.5).sum(dim=-1)


class MultiHeadNet(nn.Module):
    """One hidden tanh layer shared by `heads` linear outputs: (N, in) -> (N, heads)."""

    def __init__(self, observations: Tensor, hidden: int, heads: int, generator: torch.Generator) -> None:
        super().__init__()
        self.scale = Standardizer(observations)
        self.body = BatchedMLP(1, (observations.shape[-1], hidden, heads), generator)

    def forward(self, x: Tensor) -> Tensor:
        return self.body._one(0, self.scale(x))


def stacked(arrays: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Rows of unequal length as one float32 (n, N_max, ...) tensor padded with zeros, and its
    (n, N_max) mask (1 on real rows)."""
    n_max = max(len(a) for a in arrays)
    out = torch.zeros((len(arrays), n_max, *arrays[0].shape[1:]), dtype=torch.float32)
    mask = torch.zeros((len(arrays), n_max), dtype=torch.float32)
    for i, a in enumerate(arrays):
        out[i, :len(a)] = torch.as_tensor(np.asarray(a, dtype=np.float32))
        mask[i, :len(a)] = 1.0
    return out, mask


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """(n,) the mean of each row's real entries."""
    return (values * mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1.0)


def minimise(loss: Callable[[], Tensor], parameters: Iterable[Tensor], *, steps: int, lr: float,
             every: tuple[int, Callable[[int], bool]] | None = None) -> float:
    """`steps` full-batch Adam steps on loss(); the final loss. every = (n, callback): callback(step)
    before the first step, every n steps and after the last; it returns True to stop early."""
    parameters = list(parameters)
    optimizer = torch.optim.Adam(parameters, lr=lr) if steps else None
    for step in range(steps):
        if every is not None and step % every[0] == 0 and every[1](step):
            break
        value = loss()
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    if every is not None:
        every[1](steps)
    with torch.no_grad():
        return float(loss())


def fit_gaussian_policies(obs: Tensor, actions: Tensor, mask: Tensor, *, steps: int, lr: float,
                          entropy_coef: float, generator: torch.Generator, hidden: int = 64,
                          bounds: tuple[np.ndarray, np.ndarray] | None = None,
                          holdout: Tensor | None = None, check_every: int = 10,
                          patience: int = 200) -> GaussianPolicies:
    """One Gaussian policy per row of (n, N, ...) pairs by maximum likelihood with an entropy bonus
    (each row's loss: -mean log pi_j(a|s) - entropy_coef H(pi_j)); the rows train independently.

    holdout: (n, N) 1 on pairs kept out of training; each policy then ends at the parameters of its
    best held-out likelihood (checked every `check_every` steps), not at the last step: a batch of a
    few thousand pairs is memorised by a 64-64 network long before 1000 full-batch steps. Training
    stops once no policy has improved its held-out likelihood for `patience` steps."""
    train = mask if holdout is None else mask * (1 - holdout)
    policies = GaussianPolicies(len(obs), obs[mask > 0], actions.shape[-1], generator, hidden, bounds)
    objective = lambda: -(masked_mean(policies.log_prob(obs, actions), train)  # noqa: E731
                          + entropy_coef * policies.entropy()).sum()
    if holdout is None:
        minimise(objective, policies.parameters(), steps=steps, lr=lr)
        return policies.requires_grad_(False)
    held = mask * holdout
    parameters = list(policies.parameters())
    best_state = [p.detach().clone() for p in parameters]
    best = torch.full((len(obs),), -math.inf)
    improved = [0]  # the last step at which a policy improved

    def check(step: int) -> bool:
        with torch.no_grad():
            score = masked_mean(policies.log_prob(obs, actions), held)
            better = score > best
            best[better] = score[better]
            for saved, p in zip(best_state, parameters):
                saved[better] = p[better]
        if better.any():
            improved[0] = step
        return step - improved[0] >= patience

    minimise(objective, parameters, steps=steps, lr=lr, every=(check_every, check))
    with torch.no_grad():
        for saved, p in zip(best_state, parameters):
            p.copy_(saved)
    return policies.requires_grad_(False)


def holdout_blocks(mask: Tensor, block: int = 32, every: int = 5) -> Tensor:
    """(n, N) 1 on every `every`-th block of `block` consecutive pairs: a held-out set that is not
    next to each training pair in time (consecutive states are nearly identical)."""
    index = torch.arange(mask.shape[1])
    return ((index // block) % every == every - 1).float().expand_as(mask) * mask


class NetReward:
    """A torch reward r(obs, actions, next_obs) -> (N,) as a RecoveredReward function: numpy batches
    in (float32), float32 numpy out, no gradients. `net` takes three (N, dim) float32 tensors."""

    def __init__(self, net: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
        self.net = net

    def __call__(self, obs: np.ndarray, actions: np.ndarray, next_obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            value = self.net(*(torch.as_tensor(np.asarray(x, dtype=np.float32)) for x in (obs, actions, next_obs)))
        return value.reshape(-1).numpy().astype(np.float32)
