"""IQ-Learn: Inverse soft-Q Learning for Imitation (Garg, Chakraborty, Cundy, Song, Ermon; NeurIPS 2021),
with the chi-squared divergence: a tabular form (offline, a Q table) and a MuJoCo form (a SAC
actor-critic, online or offline).

IQ-Learn learns a single soft Q-function instead of a reward and a policy. The inverse soft
Bellman operator turns any Q into the reward for which Q is soft-optimal,

    V_Q(s)      = alpha ln sum_a exp(Q(s, a) / alpha)                      (soft value)
    pi_Q(a|s)   = exp((Q(s, a) - V_Q(s)) / alpha)                          (its soft-optimal policy)
    r_Q(s, a)   = Q(s, a) - gamma E_{s'|s,a}[ V_Q(s') ]                    (inverse soft Bellman operator)

and Q maximises the inverse soft-Q objective (paper Eq. 10 / Prop. 4.2 and the authors' iq_loss):

    J(Q) = E_expert[ phi(Q(s, a) - gamma V_Q(s')) ] - E_expert[ V_Q(s) - gamma V_Q(s') ]
    phi(x) = x - x^2 / (4 c)                                              (chi^2 divergence, c = 0.5)

Tabular form (IQLearnConfig)
----------------------------
The second term is the authors' `method.loss=value_expert` option: (1 - gamma) E_{s0}[V(s0)] is
telescoped over the expert's own transitions, so it needs no environment interaction; this is
what their offline script (scripts/run_offline.sh: method.chi=True method.loss=value_expert) runs.
The tabular observer never acts in the environment, so the online variant (`loss=value`, which
averages over expert *and policy* replay samples) is not offered here (the MuJoCo form has it);
`loss=v0` (the initial-state form, (1 - gamma) E_{s0 ~ start}[V(s0)], "works offline but usually
suboptimal" in their code) is available for comparison. Per the authors' code, minimised by
gradient steps on L(Q) = -J(Q), here

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

MuJoCo form (IQLearnContinuousConfig)
-------------------------------------
With continuous actions V_Q has no closed form: an actor pi_theta (SAC's tanh-squashed Gaussian)
stands in for pi_Q, V(s) = E_{a~pi}[Q(s, a) - T log pi(a|s)] (temperature T), and the actor takes
SAC's policy step against Q (the authors' iq_learn/train_iq.py + agent/sac.py; paper sec. 5.1).
Built on stable-baselines3's SAC: `IQLearnSAC` overrides `SAC.train` so that the critic's loss is
IQ-Learn's instead of the soft Bellman error; rollouts, replay, the actor, its loss and the target
network are SB3's. The algorithm box, as run (one update per environment step online):

    replay <- {};  Q_phi, target Q_phi', actor pi_theta: SB3 SAC (256-256 ReLU, one critic)
    online:  act with pi_theta (sampled) for initial_memory steps, storing (s, a, s', done)
    for update in 1..steps:
        online:  one environment step with pi_theta, stored in replay
        B_E <- batch_size expert transitions;  B_pi <- batch_size replay transitions (online only)
        B   <- B_pi ++ B_E
        a~ , log pi(a~|s)   <- pi_theta(s) on B (reparameterised, SAC's sample)
        y(s')  = (1 - done) gamma [Q_phi'(s', a') - T log pi(a'|s')],  a' ~ pi_theta(s')    (target net)
        V(s)   = Q_phi(s, a~) - T log pi(a~|s)                            (a~ held fixed for the critic)
        r      = Q_phi(s, a) - y(s')                                      (the reward Q implies)
        L(phi) = -mean_{B_E} r                                            (softq term)
                 + value term:  v0:           (1 - gamma) mean_{B_E} V(s)     (authors': the expert batch's s)
                                value:        mean_{B} (V(s) - y(s'))
                                value_expert: mean_{B_E} (V(s) - y(s'))
                 + mean_{B or B_E} r^2 / (4 c)                            (chi^2: method.regularize / method.chi)
        phi   <- Adam step on L(phi)                                      (critic lr)
        theta <- Adam step on mean_{B} [T log pi(a~|s) - Q_phi(s, a~)]    (SAC's actor loss, actor lr)
        phi'  <- tau phi + (1 - tau) phi'
    reward(s, a, s') = Q_phi(s, a) - gamma V_mean(s');  policy = the actor's mean action

done is Batch.terminals for the expert (an episode ended by termination; a time limit is not one)
and SB3's replay `dones` (terminations only: SB3 keeps time-limit truncations apart) for the
agent's transitions. Offline (setting "offline", the authors' `offline=True` + method.chi=True +
loss=value_expert, scripts/run_offline.sh): the same two updates on expert batches alone, no
environment and no replay: `IQLearnSAC` is built from the task's spaces without an environment and
its `train` is called once for `steps` updates (the critic loss never reads B_pi there, as in the
authors' code, where the policy half of the batch is masked out of every term).

What the observer gets (its view: the same quantity the critic is trained to rank, as in the
authors' test_iq.py, reward = Q - (1 - done) gamma V(s'); no normalisation, so imitation's
reward_train and reward_test views coincide). A NetReward of (obs, actions, next_obs) on the
trained online critic and actor: r(s, a, s') = Q_phi(s, a) - gamma V_mean(s'). Ours, with why:
- V_mean(s') = Q_phi(s', mu(s')) - T log pi(mu(s')|s') at the actor's mean action mu (tanh of the
  Gaussian's mean), not a sampled a': a sample would make the reward of a transition random (a
  function of its batch's noise, not of (s, a, s')); the mean action is deterministic, costs one
  critic pass, and is the action the authors evaluate with (choose_action(sample=False)). Its bias
  against E_a'[Q - T log pi] is second order in the actor's spread, and the log-density term is
  T = 1e-2 times a few nats.
- next_obs, not a state-action regression of E_{s'}[V(s')]: the sampled s' is the unbiased
  one-sample estimate of the paper's r(s, a) (MuJoCo is deterministic given (s, a), so it is the
  exact one), and it needs no further model.
- (1 - done): the reward function is not told whether a transition terminated (the observer's
  wrapper passes (obs, actions, next_obs)); termination = "absorbing" (default) adds, on every
  terminating transition, RecoveredReward.terminal_reward = gamma * mean V_mean(s') over the
  terminal transitions the critic was trained on (expert and replay), the constant that turns
  Q - gamma V_mean(s') into IQ-Learn's Q - 0 on average; "none" leaves the terminal observation's
  value in (as if the episode went on). On seals' fixed-horizon tasks nothing terminates and both
  are the same.

Defaults (the authors' MuJoCo settings: scripts/run_mujoco.sh, conf/agent/sac.yaml,
conf/env/{hopper,cheetah,ant}.yaml, conf/method/iq.yaml, conf/config.yaml): setting online
(the paper's Table 3); loss v0 on Hopper and Walker2d, value on HalfCheetah and Ant ("auto";
value, the conf default, on Reacher, which the authors do not run; value_expert offline); chi^2
on expert and policy samples online (method.regularize=True), on expert samples offline
(method.chi=True), c = 0.5; actor and critic 256-256 ReLU (SB3's SAC default, the authors'
hidden_dim 256, depth 2), one critic (SingleQCritic); batch 256 expert + 256 policy
transitions; critic lr 3e-4, actor lr 3e-5, Adam; fixed temperature 1e-2 (Ant 1e-3; "auto" = 0);
target network with tau 0.005 every update; initial memory 1280 transitions of the agent's own
(untrained) policy, no random-action warm-up (num_seed_steps 0); one update per environment step,
5e5 updates; replay of the agent's transitions 5e5 (the authors' replay_mem 1e6 halved between
expert and agent memories); the demonstrations are the last observed batch (demo_batches 1).
Differences that are SB3's (kept, to use the library): the actor's log-std is clamped to
[-20, 2] (the authors squash it into [-5, 2]), PyTorch's default initialisation (theirs:
orthogonal), minibatches drawn with replacement (theirs: without, within a batch).

The MuJoCo form's torch and SB3 subclasses (IQLearnSAC, InverseSoftBellmanReward) live in methods/iq_learn_sac.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset, concatenate
from envs.seeding import seeded_global_rngs
from methods.base import (FitResult, IRLMethod, NotApplicable, RecoveredReward, TaskInfo, observer_transitions,
                          transition_counts)

if TYPE_CHECKING:
    import torch

    from methods.iq_learn_sac import IQLearnSAC

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
    import torch

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
    import torch

    v = soft_value(torch.as_tensor(q), temperature).numpy()
    return q - gamma * transitions @ v


def fit_q(counts: Array, gamma: float, temperature: float, cfg: IQLearnConfig, start: Array,
          generator: torch.Generator) -> tuple[Array, dict[str, float]]:
    """Maximise the IQ-Learn objective over a (S, A) Q table; counts: (S, A, S) expert transitions."""
    import torch

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


# ----- MuJoCo form: IQ-Learn on SB3's SAC ---------------------------------------------------------

AUTHORS_LOSS = {"hopper": "v0", "walker2d": "v0", "halfcheetah": "value", "ant": "value"}  # run_mujoco.sh
AUTHORS_TEMPERATURE = {"ant": 1e-3}  # run_mujoco.sh's agent.init_temp; every other task 1e-2 (conf/agent/sac.yaml)


@dataclass(frozen=True)
class IQLearnContinuousConfig:
    """IQ-Learn's MuJoCo form (a SAC actor-critic); see the module docstring for the sources."""

    name: ClassVar[str] = "iq_learn"
    profiles: ClassVar[dict[str, dict]] = {"smoke": {"steps": 50}, "quick": {"steps": 5000}}
    # online: expert + the agent's own replay, one update per environment step (paper Table 3);
    # offline: expert batches only, no environment (the authors' offline=True with value_expert and chi)
    setting: str = one_of("online", "online", "offline")
    # the value term; auto: the authors' per task online (v0 Hopper/Walker2d, value otherwise), value_expert offline
    loss: str = one_of("auto", "auto", "v0", "value", "value_expert")
    # rows of the chi^2 term; auto: expert + policy online (method.regularize), expert offline (method.chi)
    chi2_on: str = one_of("auto", "auto", "all", "expert")
    chi_alpha: float = bounded(0.5, gt=0.0)  # c of the chi^2 regulariser r^2 / (4 c) (authors' method.alpha)
    temperature: float = bounded(0.0, ge=0.0)  # SAC's fixed entropy weight T; 0: authors' (Ant 1e-3, else 1e-2)
    demo_batches: int = bounded(1, ge=1)  # the last m observed batches are the demonstrations
    steps: int = bounded(500_000, ge=0)  # updates (critic + actor), one an environment step online (learn_steps)
    initial_memory: int = bounded(1280, ge=0)  # online: agent transitions stored before the first update
    replay_size: int = bounded(500_000, ge=1)  # online memory (replay_mem 1e6 // 2)
    batch_size: int = bounded(256, ge=1)  # expert transitions per update, and as many replay ones online
    critic_lr: float = bounded(3e-4, gt=0.0)
    actor_lr: float = bounded(3e-5, gt=0.0)
    tau: float = bounded(0.005, gt=0.0, le=1.0)  # target critic, every update
    hidden: int = bounded(256, ge=1)  # actor and critic: `layers` ReLU layers of `hidden` units
    layers: int = bounded(2, ge=1)
    n_critics: int = bounded(1, ge=1)  # the authors' SingleQCritic on MuJoCo; 2: DoubleQCritic (min, mean loss)
    # the observer's reward on a terminating transition: IQ-Learn's (1 - done) on average, or none
    termination: str = one_of("absorbing", "absorbing", "none")

    def __post_init__(self) -> None:
        check_config(self, "method")
        if self.setting == "offline" and self.loss == "value":
            raise ValueError("method.loss = 'value' averages over the agent's own samples: it needs "
                             "method.setting = 'online' (offline: value_expert or v0)")

    def resolved(self, task_name: str) -> tuple[str, str, float]:
        """(loss, chi2_on, temperature) with "auto" / 0 replaced by the authors' choice for the task."""
        online = self.setting == "online"
        loss = self.loss if self.loss != "auto" else AUTHORS_LOSS.get(task_name, "value") if online else "value_expert"
        chi2_on = self.chi2_on if self.chi2_on != "auto" else "all" if online else "expert"
        return loss, chi2_on, self.temperature or AUTHORS_TEMPERATURE.get(task_name, 1e-2)


def continuous_iq_loss(q: torch.Tensor, v: torch.Tensor, y: torch.Tensor, n_policy: int, *, gamma: float,
                       chi_alpha: float, loss: str, chi2_on: str) -> tuple[torch.Tensor, torch.Tensor]:
    """L(Q) = -J(Q) on a batch whose rows [n_policy:] are expert transitions and [:n_policy] the
    agent's (the authors' iq_loss with use_target, div=chi / regularize). q: (N,) Q(s, a);
    y: (N,) (1 - done) gamma V_target(s'); v: V(s) on the rows the value term reads
    (value_rows(loss, n_policy): every row for loss "value", the expert rows otherwise). Returns
    the loss and its (4,) terms (softq, value, chi2, total), detached."""
    import torch

    implied = q - y  # the reward Q implies, Q(s, a) - gamma V(s')
    softq = -implied[n_policy:].mean()
    if loss == "v0":  # the authors' v0: V averaged over the expert batch's states
        value = (1.0 - gamma) * v.mean()
    else:
        value = (v - y[value_rows(loss, n_policy)]).mean()
    chi2 = (implied if chi2_on == "all" else implied[n_policy:]).pow(2).mean() / (4.0 * chi_alpha)
    total = softq + value + chi2
    return total, torch.stack([softq, value, chi2, total]).detach()


def value_rows(loss: str, n_policy: int) -> slice:
    """The rows of a batch whose V(s) the value term reads."""
    return slice(None) if loss == "value" else slice(n_policy, None)


TERMS = ("softq_loss", "value_loss", "chi2_loss", "total_loss", "actor_loss", "expert_implied_reward",
         "policy_implied_reward")


class ExpertTransitions:
    """The demonstrations as float32 tensors: observations, actions scaled to SAC's [-1, 1] box,
    next observations, done = 1.0 where the transition ended its episode by termination."""

    def __init__(self, observations: Array, actions: Array, next_observations: Array, terminals: Array,
                 low: Array, high: Array) -> None:
        import torch

        as_tensor = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float32))  # noqa: E731
        self.observations, self.next_observations = as_tensor(observations), as_tensor(next_observations)
        self.actions = scale_actions(as_tensor(actions), as_tensor(low), as_tensor(high))
        self.dones = as_tensor(terminals)

    def __len__(self) -> int:
        return len(self.dones)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        import torch

        index = torch.randint(len(self), (n,), generator=generator)  # with replacement, like SB3's replay
        return self.observations[index], self.actions[index], self.next_observations[index], self.dones[index]


def scale_actions(actions: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Environment actions -> SAC's squashed [-1, 1] box (SB3's policy.scale_action on tensors)."""
    return (2.0 * (actions - low) / (high - low) - 1.0).clamp(-1.0, 1.0)


class MeanActionPolicy:
    """The actor's deterministic mean action as a policy, (N, obs_dim) numpy -> (N, act_dim)
    environment actions: what the authors evaluate (choose_action(sample=False))."""

    def __init__(self, policy) -> None:
        self.policy = policy

    def __call__(self, obs: Array) -> Array:
        return self.policy.predict(obs, deterministic=True)[0]


def build_iq_sac(cfg: IQLearnContinuousConfig, expert: ExpertTransitions, task: TaskInfo, seed: int,
                 venv=None) -> IQLearnSAC:
    """IQLearnSAC for the task; on `venv` online, from the task's spaces alone offline."""
    import torch

    from methods.iq_learn_sac import IQLearnSAC

    loss, chi2_on, temperature = cfg.resolved(task.name)
    online = cfg.setting == "online"
    model = IQLearnSAC(
        "MlpPolicy", venv, expert=expert, online=online, loss=loss, chi2_on=chi2_on, chi_alpha=cfg.chi_alpha,
        initial_memory=cfg.initial_memory, generator=torch.Generator().manual_seed(seed),
        average_from=cfg.steps - max(1, cfg.steps // 10),
        learning_rate=cfg.critic_lr, buffer_size=min(cfg.replay_size, cfg.initial_memory + cfg.steps) if online else 1,
        learning_starts=0, batch_size=cfg.batch_size, tau=cfg.tau, gamma=task.gamma, train_freq=1, gradient_steps=1,
        ent_coef=temperature, target_entropy=-float(np.prod(task.action_space.shape)),  # (unused: T is fixed)
        policy_kwargs={"net_arch": [cfg.hidden] * cfg.layers, "n_critics": cfg.n_critics},
        seed=seed, device="cpu", _init_setup_model=False)
    if venv is None:  # offline: the spaces are all SAC needs to build its networks
        model.observation_space, model.action_space, model.n_envs = task.observation_space, task.action_space, 1
    model._setup_model()
    for group in model.actor.optimizer.param_groups:  # SB3 has one lr for both; `train` never resets it
        group["lr"] = cfg.actor_lr
    return model


def train_iq_sac(cfg: IQLearnContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> IQLearnSAC:
    """IQ-Learn's updates on the last demo_batches observed batches (and, online, the agent's replay)."""
    from envs.mujoco.ppo import torch_threads, vec_env

    demos = concatenate(data.last(cfg.demo_batches))
    low, high = task.action_space.low, task.action_space.high
    expert = ExpertTransitions(demos.observations, demos.actions, demos.next_observations, demos.terminals, low, high)
    with seeded_global_rngs(seed), torch_threads(1):
        if cfg.setting == "offline":
            model = build_iq_sac(cfg, expert, task, seed)
            model.train(gradient_steps=cfg.steps, batch_size=cfg.batch_size)
        else:
            venv = vec_env(task.simulator.make_env, 1, seed)
            model = build_iq_sac(cfg, expert, task, seed, venv)
            # initial_memory steps before the first update, then one update per step
            model.learn(total_timesteps=cfg.initial_memory + cfg.steps, log_interval=None)
            venv.close()
    return model


def fit_continuous(cfg: IQLearnContinuousConfig, data: ObservationDataset, task: TaskInfo, seed: int) -> FitResult:
    import torch

    from methods.iq_learn_sac import InverseSoftBellmanReward
    from methods.nets import NetReward

    if cfg.setting == "online" and task.simulator is None:
        raise NotApplicable("iq_learn online needs simulator access (protocol.grant_simulator = true); "
                            "method.setting = 'offline' learns from the demonstrations alone")
    loss, chi2_on, temperature = cfg.resolved(task.name)
    model = train_iq_sac(cfg, data, task, seed)
    model.policy.set_training_mode(False)
    model.policy.requires_grad_(False)
    low, high = task.action_space.low, task.action_space.high
    reward = InverseSoftBellmanReward(model.policy, task.gamma, temperature, low, high)
    # the terminal transitions the critic was trained on: the demonstrations' and (online) the replay's
    demos = concatenate(data.last(cfg.demo_batches))
    ends = [demos.next_observations[demos.terminals]]
    if cfg.setting == "online":
        replay = model.replay_buffer
        stored = slice(0, replay.buffer_size if replay.full else replay.pos)
        done = (replay.dones[stored, 0] * (1 - replay.timeouts[stored, 0])) > 0  # terminations, not time limits
        ends.append(replay.next_observations[stored, 0][done])
    ends = np.concatenate(ends).astype(np.float32)
    with torch.no_grad():
        values = reward.value(torch.as_tensor(ends))
        observed = NetReward(reward)(demos.observations, demos.actions, demos.next_observations)
    terminal_reward = task.gamma * float(values.mean()) if cfg.termination == "absorbing" and len(ends) else 0.0
    diagnostics = {**model.mean_terms(), "setting": cfg.setting, "loss": loss, "chi2_on": chi2_on,
                   "temperature": temperature, "updates": int(model._n_updates),
                   "env_steps": int(model.num_timesteps), "expert_pairs": len(demos),
                   "terminal_reward": terminal_reward, "terminal_transitions": len(ends),
                   "reward_expert_mean": float(observed.mean()), "reward_expert_std": float(observed.std())}
    return FitResult(RecoveredReward(function=NetReward(reward), terminal_reward=terminal_reward),
                     policy=MeanActionPolicy(model.policy), diagnostics=diagnostics)


class IQLearn(IRLMethod):
    """IQ-Learn with the chi^2 divergence (Garg et al. 2021): tabular Q (offline), or SAC on MuJoCo."""

    name: ClassVar[str] = "iq_learn"
    uses: ClassVar[str] = "demonstrations"
    tracks: ClassVar[frozenset[str]] = frozenset({"tabular", "mujoco"})
    Config: ClassVar[type] = IQLearnConfig
    configs: ClassVar[dict[str, type]] = {"mujoco": IQLearnContinuousConfig}
    profiles: ClassVar[dict] = {"smoke": {"steps": 500}, "quick": {"steps": 2000}, "paper": {"steps": 5000}}

    def fit(self, data: ObservationDataset, task: TaskInfo, *, seed: int) -> FitResult:
        cfg = self.config_for(task)
        if task.track != "tabular":
            return fit_continuous(cfg, data, task, seed)
        import torch

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
