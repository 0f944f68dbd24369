"""The MuJoCo track's tasks: reacher, hopper, halfcheetah, ant, walker2d.

A task's config holds what the task's evaluation protocol needs beside the environment: the
expert (the top of imitation's normalization, and the demonstrator), and the observer the
pipeline trains on a recovered reward. Profiles scale these budgets, never the algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from envs.config_fields import bounded, check_config, one_of
from envs.datasets import ObservationDataset, ReferenceScores, cache_key
from envs.mujoco.envs import ENV_IDS, env_id, hidden_env_factory, make_env, spaces
from envs.mujoco.features import FEATURE_NAMES, reward_features
from envs.mujoco.ppo import EVAL_SEED, PPOSettings, demonstrations, mean_and_se, random_score, record_learner
from envs.protocol import ProtocolConfig
from envs.seeding import int_seed
from envs.task import Simulator, Task, TaskInfo
from envs.versions import MUJOCO_STACK, package_versions


# The version of what makes a MuJoCo dataset or expert here: bumped when the recording changes, so
# that caches made by older code are not served as current ones.
GENERATOR = 3  # 2: batches record terminations; 3: normalized agents, committed experts, scores' errors


def library_versions() -> dict[str, str]:
    """The versions of the libraries a recording depends on (part of its cache key)."""
    return package_versions(("torch", *MUJOCO_STACK[:4]))


@dataclass(frozen=True)
class PPOLearnerConfig:
    """The LfL paper's MuJoCo learner: SB3 PPO with n_envs environments of n_steps steps an update;
    before each observed update (first, first + every, ..., last; the policy after u updates) the
    observer gets the rollouts of that update in observed_envs of the environments (observed_envs x
    n_steps pairs: the paper's 1 of 32 environments, 2048 pairs; the quick learner runs 8 x 256
    steps an update and shows all 8, so that a batch still holds 2048 pairs). Each observed policy is
    scored like every policy of the task (its mean true return over the task's eval_episodes)."""

    name: ClassVar[str] = "ppo"
    source: ClassVar[str] = "sequence"
    profiles: ClassVar[dict[str, dict[str, Any]]] = {
        # smoke: seconds; quick: 8 x 256 steps an update, windows scaled down (the suite sets them per task)
        "smoke": {"n_envs": 2, "n_steps": 64, "n_minibatches": 2, "n_epochs": 2, "first_update": 1, "last_update": 3,
                  "every": 1},
        "quick": {"n_envs": 8, "n_steps": 256, "n_minibatches": 8, "observed_envs": 8, "first_update": 2,
                  "last_update": 22, "every": 5},
    }
    n_envs: int = bounded(32, ge=1)
    n_steps: int = bounded(2048, ge=2)
    n_minibatches: int = bounded(32, ge=1)
    n_epochs: int = bounded(10, ge=1)
    learning_rate: float = bounded(3e-4, gt=0.0)
    first_update: int = bounded(10, ge=0)
    last_update: int = bounded(30, ge=0)
    every: int = bounded(5, ge=1)
    observed_envs: int = bounded(1, ge=1)

    def __post_init__(self) -> None:
        check_config(self, "learner")
        if self.observed_envs > self.n_envs:
            raise ValueError(f"learner.observed_envs = {self.observed_envs}: at most n_envs = {self.n_envs}")
        if self.last_update < self.first_update or (self.last_update - self.first_update) % self.every:
            raise ValueError(f"learner.first_update = {self.first_update}, last_update = {self.last_update}, every = "
                             f"{self.every}: the window must end on an observed update (valid: first_update <= "
                             "last_update, last_update - first_update a multiple of every)")

    @property
    def observed(self) -> list[int]:
        return list(range(self.first_update, self.last_update + 1, self.every))

    @property
    def k(self) -> int:
        return len(self.observed) - 1

    def settings(self, gamma: float, normalize: bool) -> PPOSettings:
        return PPOSettings(n_envs=self.n_envs, n_steps=self.n_steps, n_minibatches=self.n_minibatches,
                           n_epochs=self.n_epochs, learning_rate=self.learning_rate, gamma=gamma, normalize=normalize)


@dataclass(frozen=True)
class MujocoExpertConfig:
    """Standard IRL's demonstrator: `episodes` whole episodes of the task's expert (its deterministic
    policy, as the field reports experts), one batch."""

    name: ClassVar[str] = "expert"
    source: ClassVar[str] = "expert"
    profiles: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {"episodes": 1}, "quick": {"episodes": 4}}
    episodes: int = bounded(10, ge=1)

    def __post_init__(self) -> None:
        check_config(self, "learner")

    @property
    def k(self) -> int:
        return 0


@dataclass(frozen=True)
class MujocoConfig:
    """A MuJoCo task. fixed_horizon: the seals form (no early termination). normalize: every PPO of
    the task (the recorded learner, the observer, the oracle) normalizes observations and rewards
    with running statistics inside the agent (VecNormalize), as the field's PPO does. expert: the
    committed expert (envs/mujoco/experts/) or "local", the same recipe trained here for
    expert_steps and cached; scored, as the field reports experts, by its deterministic policy over
    expert_eval_episodes. The observer: SB3 PPO on the recovered reward for observer_steps, started
    from a behavioural clone of the last observed batch (observer_start = "bc", the LfL paper's
    protocol) or from scratch; before its first policy update its critic is fitted on
    observer_warmup_steps of the clone's own rollouts (the policy frozen), so that PPO's first
    updates do not undo the clone; scored, like every policy but the expert, by its mean true
    return over eval_episodes episodes (sampled actions), at curve_points checkpoints."""

    name: ClassVar[str] = "mujoco"
    profiles: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": {"expert": "local", "expert_steps": 256, "expert_eval_episodes": 2, "observer_steps": 256,
                  "observer_envs": 2, "observer_n_steps": 64, "observer_warmup_steps": 128, "bc_steps": 50,
                  "eval_episodes": 2, "curve_points": 2},
        "quick": {"observer_steps": 40_960, "observer_envs": 8, "observer_n_steps": 256,
                  "observer_warmup_steps": 8_192, "bc_steps": 2000},
    }
    fixed_horizon: bool = False
    gamma: float = bounded(0.99, gt=0.0, lt=1.0)
    normalize: bool = True
    expert: str = one_of("committed", "committed", "local")
    expert_steps: int = bounded(100_000, ge=1)  # the local expert's budget (expert = "local" only)
    expert_eval_episodes: int = bounded(50, ge=1)
    observer_steps: int = bounded(1_966_080, ge=0)  # the paper's observer: 30 updates of 32 x 2048
    observer_start: str = one_of("bc", "bc", "scratch")
    observer_envs: int = bounded(32, ge=1)
    observer_n_steps: int = bounded(2048, ge=2)
    observer_warmup_steps: int = bounded(131_072, ge=0)
    bc_steps: int = bounded(3000, ge=1)  # the LfL paper's 3000 cloning steps
    eval_episodes: int = bounded(10, ge=1)
    curve_points: int = bounded(5, ge=2)

    # what a learner's dataset depends on (the observer's settings do not: sweeping them re-records
    # nothing); the expert's identity (its content hash) is added by MujocoTask.dataset_spec
    dataset_fields: ClassVar[tuple[str, ...]] = ("fixed_horizon", "gamma", "normalize", "expert", "expert_steps",
                                                 "expert_eval_episodes", "eval_episodes")

    def __post_init__(self) -> None:
        check_config(self, "task")

    @staticmethod
    def protocol_problem(protocol: dict[str, Any]) -> str | None:
        """Why a protocol does not apply to a MuJoCo task, or None."""
        if protocol.get("grant_dynamics"):
            return ("protocol.grant_dynamics = true: a MuJoCo task has no transition model to grant "
                    "(protocol.grant_simulator gives an environment to roll out in)")
        if protocol.get("observation") != "trajectories":
            return f"protocol.observation = {protocol.get('observation')!r}: MuJoCo tasks are observed through trajectories"
        return None

    def observer_settings(self) -> PPOSettings:
        return PPOSettings(n_envs=self.observer_envs, n_steps=self.observer_n_steps,
                           n_minibatches=max(1, min(32, self.observer_envs * self.observer_n_steps // 64)),
                           gamma=self.gamma, normalize=self.normalize)


def task_config(name: str) -> type:
    """The config class of one MuJoCo task (one class a name, for the config registry)."""
    return type(f"{name.capitalize()}Config", (MujocoConfig,), {"name": name, "__doc__": MujocoConfig.__doc__,
                                                                "__annotations__": {}})


MUJOCO_CONFIGS: dict[str, type] = {name: dataclass(frozen=True)(task_config(name)) for name in ENV_IDS}
LEARNERS: dict[str, type] = {PPOLearnerConfig.name: PPOLearnerConfig, MujocoExpertConfig.name: MujocoExpertConfig}


@dataclass(frozen=True)
class MujocoTask(Task):
    track: ClassVar[str] = "mujoco"
    name: str
    config: MujocoConfig

    def make_env(self):
        return make_env(self.name, self.config.fixed_horizon)

    @property
    def env_id(self) -> str:
        return env_id(self.name, self.config.fixed_horizon)

    def expert(self, cache_dir=None):
        """The task's expert: the committed one, or the local one trained once and cached."""
        from envs.mujoco.experts import cached_expert, load_expert

        cfg = self.config
        if cfg.expert == "committed":
            return load_expert(self.name, cfg.fixed_horizon)
        return cached_expert(self.name, cfg.fixed_horizon, cfg.expert_steps,
                             None if cache_dir is None else Path(cache_dir).parent / "experts",
                             eval_episodes=cfg.expert_eval_episodes)

    def expert_identity(self) -> str:
        """What names the expert in a dataset's key and a record: the committed expert's name and
        content hash, or the local expert's recipe, budget and library versions."""
        from envs.mujoco.experts import expert_name, load_expert, recipe_for

        cfg = self.config
        if cfg.expert == "committed":
            return f"{expert_name(self.name, cfg.fixed_horizon)} sha256:{load_expert(self.name, cfg.fixed_horizon).sha256}"
        recipe = recipe_for(self.name, cfg.fixed_horizon).to_json()
        return (f"local {expert_name(self.name, cfg.fixed_horizon)} {cfg.expert_steps} steps "
                f"recipe:{cache_key(recipe)} eval:{cfg.expert_eval_episodes}")

    def provenance(self) -> dict[str, str]:
        return {"expert": self.expert_identity()}

    def dataset_spec(self, config: dict[str, Any]) -> dict[str, Any]:
        task = {key: config["task"][key] for key in ("name", *MujocoConfig.dataset_fields)}
        return {**super().dataset_spec(config), "task": task, "generator": GENERATOR, "versions": library_versions(),
                "expert": self.expert_identity()}

    def observe(self, learner: Any, protocol: ProtocolConfig, seed: np.random.SeedSequence,
                *, cache_dir: Any = None) -> tuple[ObservationDataset, ReferenceScores]:
        cfg = self.config
        expert = self.expert(cache_dir)
        expert_score, expert_se = mean_and_se(expert, self.make_env, cfg.expert_eval_episodes, EVAL_SEED,
                                              deterministic=True)
        random = random_score(self.make_env, cfg.eval_episodes, seed=EVAL_SEED)
        if learner.name == "expert":
            batch = demonstrations(expert, self.make_env, learner.episodes, seed=int_seed(seed, 1))
            return ObservationDataset((batch,)), ReferenceScores(np.array([expert_score]), expert_score, random,
                                                                 np.array([expert_se]))
        batches, scores = record_learner(self.make_env, learner.settings(cfg.gamma, cfg.normalize), learner.observed,
                                         seed=int_seed(seed, 0), eval_episodes=cfg.eval_episodes,
                                         observed_envs=learner.observed_envs)
        means, errors = (np.array(column) for column in zip(*scores))
        return ObservationDataset(tuple(batches)), ReferenceScores(means, expert_score, random, errors)

    def describe(self) -> dict[str, Any]:
        # how the expert (demonstrations, the top of imitation's normalization) acts, for the record
        return {"expert_policy": "deterministic"}

    def info(self, protocol: ProtocolConfig) -> TaskInfo:
        observation_space, action_space = spaces(self.name, self.config.fixed_horizon)
        simulator = Simulator(make_env=hidden_env_factory(self.name, self.config.fixed_horizon)) \
            if protocol.grant_simulator else None
        return TaskInfo(name=self.name, track=self.track, gamma=self.config.gamma,
                        observation_space=observation_space, action_space=action_space, simulator=simulator,
                        reward_features=reward_features(self.name, self.config.fixed_horizon),
                        feature_names=FEATURE_NAMES[self.name])


def build_mujoco(config: MujocoConfig) -> MujocoTask:
    return MujocoTask(config.name, config)


TASKS: dict[str, tuple[type, object]] = {name: (cls, build_mujoco) for name, cls in MUJOCO_CONFIGS.items()}
