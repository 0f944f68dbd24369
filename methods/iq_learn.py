"""IQ-Learn: Inverse soft-Q Learning for Imitation (Garg, Chakraborty, Cundy, Song, Ermon; NeurIPS 2021),
tabular form, offline ("expert-only") variant with the chi-squared divergence.

IQ-Learn learns a single soft Q-function instead of a reward and a policy. The inverse soft
Bellman operator turns any Q into the reward for which Q is soft-optimal,

    V_Q(s)      = alpha ln sum_a exp(Q(s, a) / alpha)                      (soft value)
    pi_Q(a|s)   = exp((Q(s, a) - V_Q(s)) / alpha)                          (its soft-optimal policy)
    r_Q(s, a)   = Q(s, a) - gamma E_{s'|s,a}[ V_Q(s') ]                    (inverse soft Bellman operator)

and Q maximises the inverse soft-Q objective (paper Eq. 10 / Prop. 4.2 and the authors' iq_loss):

    J(Q) = E_expert[ phi(Q(s, a) - gamma V_Q(s')) ] - E_expert[ V_Q(s) - gamma V_Q(s') ]
    phi(x) = x - x^2 / (4 c)                                              (chi^2 divergence, c = 0.5)

The second term is the authors' `method.loss=value_expert` option: (1 - gamma) E_{s0}[V(s0)] is
telescoped over the expert's own transitions, so it needs no environment interaction; this is
what their offline script (scripts/run_offline.sh: method.chi=True method.loss=value_expert) runs.
The observer here can never act in the environment, so the online variant (`loss=value`, which
averages over expert *and policy* replay samples) is not applicable; `loss=v0` (the initial-state
form, (1 - gamma) E_{s0 ~ start}[V(s0)], "works offline but usually suboptimal" in their code)
is available for comparison. Per the authors' code, minimised by gradient steps on
L(Q) = -J(Q), here

    for step in 1..steps:
        (s, a, s')  <- all expert transitions (full batch, weighted by counts) or a minibatch
        loss        <- -mean(Q(s,a) - gamma V(s')) + mean(V(s) - gamma V(s')) + mean((Q(s,a) - gamma V(s'))^2) / (4 c)
        Q           <- Adam step on loss
    reward  = Q - gamma P V_Q        (P: the task's dynamics if granted, else counted from the observations)
    policy  = softmax(Q / alpha)

Transitions are consecutive pairs of the observed stream (Batch.next_observations); the streams
have no terminal states, so done = 0 throughout.

Temperature and reward scale. The authors use a fixed small temperature (1e-2) in V_Q. Here the
temperature is the task's alpha: the identity "pi_Q is the soft-optimal policy of r_Q" holds
only at the temperature used in V_Q, and the pipeline's observer acts soft-optimally for the
reward at the task's alpha. With alpha the observer's policy is exactly pi_Q (with granted
dynamics), so the reward is on the observer's scale by construction; with a 1e-2 temperature the
same Q would yield a reward about 30 times too large for an observer at alpha = 0.3.

Defaults. c = 0.5 (method.alpha in the authors' conf/method/iq.yaml), loss value_expert and the
chi^2 regulariser on expert data are the authors' offline settings; gamma comes from the task. The
authors' critic lr (1e-4 for soft-Q, 3e-4 for SAC), batch 32-256 and 1e5-5e5 steps are for neural
networks trained on minibatches; a table fitted on every transition at once has exact gradients,
so it uses full-batch Adam with lr 0.1 (a table entry moves by about lr per step, and the Q values
here are of order 1-10) for 2000 steps (`batch_size>0` restores minibatch sampling). No target
network (the authors' default train.use_target=False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset
from methods.base import FitResult, IRLMethod, RecoveredReward, TaskInfo, observer_transitions, transition_counts

Array = np.ndarray


@dataclass(frozen=True)
class IQLearnConfig:
    loss: str = one_of("value_expert", "value_expert", "v0")  # second term: telescoped over expert transitions, or v0
    # c of the chi^2 regulariser 1/(4c) E[(Q - gamma V')^2] (authors' method.alpha)
    chi_alpha: float = bounded(0.5, gt=0.0)
    temperature: float = bounded(0.0, ge=0.0)  # entropy weight of V_Q; 0: the task's alpha (see module docstring)
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    steps: int = bounded(2000, ge=0)  # Adam steps
    lr: float = bounded(0.1, gt=0.0)  # Adam learning rate on the Q table
    # 0: every expert transition each step; > 0: minibatches sampled with replacement
    batch_size: int = bounded(0, ge=0)

    def __post_init__(self) -> None:
        check_config(self, "method")


def soft_value(q: torch.Tensor, temperature: float) -> torch.Tensor:
    """V_Q(s) = temperature * logsumexp(Q(s, .) / temperature)."""
    return temperature * torch.logsumexp(q / temperature, dim=-1)


def iq_loss(q: torch.Tensor, s: torch.Tensor, a: torch.Tensor, s_next: torch.Tensor, weights: torch.Tensor,
            *, gamma: float, temperature: float, chi_alpha: float, loss: str,
            start: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """-J(Q) on weighted expert transitions (weights sum to one): the authors' iq_loss with
    div=chi, done = 0 and no target network."""
    v = soft_value(q, temperature)
    implied_reward = q[s, a] - gamma * v[s_next]  # Q(s,a) - gamma V(s'): the reward Q implies
    softq_loss = -(weights * implied_reward).sum()
    if loss == "value_expert":
        value_loss = (weights * (v[s] - gamma * v[s_next])).sum()
    else:  # v0
        value_loss = (1.0 - gamma) * (start * v).sum()
    chi2_loss = (weights * implied_reward**2).sum() / (4.0 * chi_alpha)
    total = softq_loss + value_loss + chi2_loss
    terms = {"softq_loss": softq_loss, "value_loss": value_loss, "chi2_loss": chi2_loss, "total_loss": total}
    return total, {key: float(value.detach()) for key, value in terms.items()}


def inverse_soft_bellman(q: Array, transitions: Array, gamma: float, temperature: float) -> Array:
    """(S, A) r_Q = Q - gamma P V_Q: the reward whose soft-optimal policy (at `temperature`) is softmax(Q / temperature)."""
    v = soft_value(torch.as_tensor(q), temperature).numpy()
    return q - gamma * transitions @ v


def fit_q(counts: Array, gamma: float, temperature: float, cfg: IQLearnConfig, start: Array,
          generator: torch.Generator) -> tuple[Array, dict[str, float]]:
    """Maximise the IQ-Learn objective over a (S, A) Q table; counts: (S, A, S) expert transitions."""
    s, a, s_next = (torch.as_tensor(i) for i in np.nonzero(counts))
    n = torch.as_tensor(counts[np.nonzero(counts)])
    q = torch.zeros(counts.shape[:2], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([q], lr=cfg.lr)
    start_t = torch.as_tensor(start)
    kwargs = dict(gamma=gamma, temperature=temperature, chi_alpha=cfg.chi_alpha, loss=cfg.loss, start=start_t)
    for _ in range(cfg.steps):
        if cfg.batch_size > 0:  # the authors' minibatch sampling: uniform over transitions, with replacement
            idx = torch.multinomial(n, cfg.batch_size, replacement=True, generator=generator)
            batch = (s[idx], a[idx], s_next[idx], torch.full((cfg.batch_size,), 1.0 / cfg.batch_size, dtype=torch.float64))
        else:
            batch = (s, a, s_next, n / n.sum())
        loss, _ = iq_loss(q, *batch, **kwargs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        _, terms = iq_loss(q, s, a, s_next, n / n.sum(), **kwargs)  # final full-batch loss
    return q.detach().numpy(), terms


class IQLearn(IRLMethod):
    """IQ-Learn, offline chi^2 variant, tabular Q (Garg et al. 2021)."""

    name: ClassVar[str] = "iq_learn"
    uses: ClassVar[str] = "demonstrations"
    Config: ClassVar[type] = IQLearnConfig
    profiles: ClassVar[dict] = {"smoke": {"steps": 500}, "quick": {"steps": 2000}, "paper": {"steps": 5000}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg: IQLearnConfig = self.config
        n_s, n_a = task.n_states, task.n_actions
        temperature = cfg.temperature or task.alpha
        if temperature <= 0:
            raise ValueError("IQ-Learn needs a positive temperature: the task's alpha or method.temperature")
        counts = transition_counts(data, n_s, n_a)
        demos = counts[-cfg.demo_batches:].sum(axis=0)  # (S, A, S)
        transitions = observer_transitions(task, counts)
        start = task.start if task.start is not None else self._observed_starts(data, n_s, cfg.demo_batches)
        generator = torch.Generator().manual_seed(seed)
        q, terms = fit_q(demos, task.gamma, temperature, cfg, start, generator)
        reward = inverse_soft_bellman(q, transitions, task.gamma, temperature)
        policy = torch.softmax(torch.as_tensor(q) / temperature, dim=1).numpy()
        return FitResult(RecoveredReward(table=reward), policy=policy,
                         diagnostics={**terms, "temperature": float(temperature), "steps": cfg.steps,
                                      "dynamics": "granted" if task.transitions is not None else "estimated"})

    @staticmethod
    def _observed_starts(data: ObservationDataset, n_states: int, demo_batches: int) -> Array:
        """(S,) empirical distribution of the demonstrations' episode-start states (for loss=v0)."""
        starts = np.concatenate([b.observations[b.episode_starts] for b in data.last(demo_batches)])
        return np.bincount(starts, minlength=n_states) / max(len(starts), 1)
