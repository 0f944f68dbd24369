"""The MuJoCo track's experts: trained once with published tuned settings, committed, checked on load.

An expert is the demonstrator of the expert-demonstrations protocol and the top of imitation's
normalization. Each lives in the package as two small, safe files (nothing runs code when loaded):

    envs/mujoco/experts/NAME.npz    the actor's weights (hidden layers, action head, log-std)
    envs/mujoco/experts/NAME.json   env id, spaces, architecture, observation statistics, the
                                    training recipe and command, the git commit that trained it,
                                    library versions, the measured return, a content hash

NAME is the task, with "-seals" for the fixed-horizon form (Reacher's fixed form is Reacher-v4
itself, so it has one expert). `load_expert` checks the content hash and the spec (env id,
observation and action shapes) and refuses a mismatch; a dynamics library (gymnasium, mujoco,
seals) at another version than the expert was trained with gives a warning. An expert acts
deterministically (the mean action, clipped), as the field reports its experts.

`train_expert` makes one from its recipe (experts/recipes.toml: SB3 PPO with VecNormalize and a
published tuned setting per task, the source named beside it), resumable from checkpoints in the
cache; `irlbench experts train TASK` calls it. A config that asks for another expert than the
committed one (task.expert = "local") gets a locally trained one, cached in the same format and
checked the same way (`cached_expert`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from envs.datasets import CacheWarning, cache_key, canonical, content_hash, default_cache_dir
from envs.mujoco.envs import ENV_IDS, env_id, make_env, spaces
from envs.mujoco.ppo import (EVAL_SEED, ObsNormalization, PPOSettings, episode_stats, make_ppo, mean_return,
                             torch_threads, vec_env)
from envs.seeding import seeded_global_rngs
from envs.versions import DYNAMICS, MUJOCO_STACK, git_state, package_versions

Array = np.ndarray
EXPERT_DIR = Path(__file__).parent / "experts"
RECIPES = EXPERT_DIR / "recipes.toml"
FORMAT = 1
EVAL_EPISODES = 50  # the field's: an expert's return is the mean of 50 deterministic episodes
CHECKPOINTS = 20  # a training run is saved, and its policy scored, this many times
SELECT_EPISODES, SELECT_SEED = 10, 90_000  # the checkpoint's score (other episodes than the final evaluation's)


class ExpertError(ValueError):
    """An expert file that is missing, changed, or made for another task."""


class ExpertVersionWarning(UserWarning):
    """An expert loaded under other dynamics libraries than it was trained with."""


def expert_name(task: str, fixed_horizon: bool) -> str:
    if task not in ENV_IDS:
        raise ExpertError(f"unknown MuJoCo task {task!r} (valid: {', '.join(ENV_IDS)})")
    variable, fixed = ENV_IDS[task]
    return f"{task}-seals" if fixed_horizon and fixed != variable else task


# ----- the expert -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expert:
    """A trained actor: raw observation -> normalized (frozen statistics) -> MLP -> mean action,
    clipped to the action space. `info` is its JSON (settings, measured return, hash)."""

    name: str
    env_id: str
    layers: tuple[tuple[Array, Array], ...]  # (weight (out, in), bias (out,)) per layer, the action head last
    activation: str
    normalization: ObsNormalization
    action_low: Array
    action_high: Array
    info: dict[str, Any] = field(repr=False)

    @property
    def sha256(self) -> str:
        return self.info["sha256"]

    @property
    def measured_return(self) -> float:
        return float(self.info["evaluation"]["mean"])

    def act(self, obs: Array) -> Array:
        """The action the environment takes for one raw observation."""
        return self.predict(np.asarray(obs)[None])[0][0]

    def predict(self, obs: Array, deterministic: bool = True) -> tuple[Array, None]:
        """Actions for a batch of raw observations (SB3's predict signature; deterministic only)."""
        if not deterministic:
            raise ValueError(f"expert {self.name}: experts act deterministically (the mean action)")
        # float64, row by row in a fixed order (einsum, not BLAS): an observation's action does not
        # depend on the batch it comes in, so that an episode replays exactly
        h = self.normalization(np.asarray(obs, dtype=np.float64)).astype(np.float64)
        for i, (weight, bias) in enumerate(self.layers):
            h = np.einsum("oi,bi->bo", weight.astype(np.float64), h) + bias
            if i < len(self.layers) - 1:
                h = np.tanh(h) if self.activation == "tanh" else np.maximum(h, 0.0)
        return np.clip(h, self.action_low, self.action_high), None


def expert_arrays(model) -> dict[str, Array]:
    """The actor of an SB3 PPO MlpPolicy (separate actor and critic) as named arrays."""
    import torch

    arrays: dict[str, Array] = {}
    linears = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate([*linears, model.policy.action_net]):
        arrays[f"layer{i}.weight"] = layer.weight.detach().numpy().copy()
        arrays[f"layer{i}.bias"] = layer.bias.detach().numpy().copy()
    arrays["log_std"] = model.policy.log_std.detach().numpy().copy()
    return arrays


def expert_hash(arrays: dict[str, Array], info: dict[str, Any]) -> str:
    """sha256 of the weights (names, dtypes, shapes, bytes) and of the JSON without its hash."""
    described = canonical({key: value for key, value in info.items() if key != "sha256"})
    return content_hash({**arrays, "info": np.frombuffer(described.encode(), dtype=np.uint8)})


def write_expert(directory: Path, name: str, arrays: dict[str, Array], info: dict[str, Any]) -> Path:
    """NAME.npz and NAME.json, each written atomically, the hash added to the JSON; the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    info = {**info, "sha256": expert_hash(arrays, info)}
    # one line per list of numbers: the statistics stay readable
    text = re.sub(r"\[[-+0-9.eE,\s]*\]", lambda m: " ".join(m.group(0).split()), json.dumps(info, indent=1)) + "\n"
    for suffix, write in ((".npz", lambda handle: np.savez(handle, **arrays)),
                          (".json", lambda handle: handle.write(text.encode()))):
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=suffix + ".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.chmod(tmp, 0o644)  # files to commit and share, not a private temporary
            os.replace(tmp, directory / f"{name}{suffix}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return directory / f"{name}.json"


def read_expert(directory: Path, name: str, *, task: str, fixed_horizon: bool) -> Expert:
    """The expert NAME in `directory`, checked: its hash, its spec against the task's environment,
    the versions of the dynamics libraries (a warning)."""
    json_path, npz_path = directory / f"{name}.json", directory / f"{name}.npz"
    if not json_path.exists() or not npz_path.exists():
        raise ExpertError(f"no expert {name!r} in {directory} (train it with `irlbench experts train {task}"
                          f"{' --fixed-horizon' if fixed_horizon else ''}`)")
    try:
        info = json.loads(json_path.read_text())
        with np.load(npz_path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # a truncated or garbled file fails in many ways
        raise ExpertError(f"expert {name!r} in {directory} does not load ({type(error).__name__}: {error})") from error
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ExpertError(f"expert {name!r} in {directory} is not an expert file of format {FORMAT}")
    if info.get("sha256") != expert_hash(arrays, info):
        raise ExpertError(f"expert {name!r} in {directory} does not match its content hash: a file was changed "
                          f"after training (retrain it with `irlbench experts train {task}"
                          f"{' --fixed-horizon' if fixed_horizon else ''}`)")
    expected = env_id(task, fixed_horizon)
    observation_space, action_space = spaces(task, fixed_horizon)
    found = (info.get("env_id"), tuple(info.get("observation_shape", ())), tuple(info.get("action_shape", ())))
    wanted = (expected, observation_space.shape, action_space.shape)
    if found != wanted:
        raise ExpertError(f"expert {name!r} in {directory} was made for {found[0]} (observations {found[1]}, actions "
                          f"{found[2]}), not for {wanted[0]} (observations {wanted[1]}, actions {wanted[2]})")
    layers = layers_of(arrays)
    if layers[0][0].shape[1] != observation_space.shape[0] or layers[-1][0].shape[0] != action_space.shape[0]:
        raise ExpertError(f"expert {name!r} in {directory}: its weights do not fit the spaces of {expected}")
    differing = {lib: (was, now) for lib, now in package_versions(DYNAMICS).items()
                 if (was := info.get("versions", {}).get(lib)) not in (None, now)}
    if differing:
        warnings.warn(f"expert {name!r} was trained with " + ", ".join(f"{lib} {was}" for lib, (was, _) in differing.items())
                      + "; installed: " + ", ".join(f"{lib} {now}" for lib, (_, now) in differing.items())
                      + " (its measured return may not hold)", ExpertVersionWarning, stacklevel=3)
    norm = info["normalization"]
    normalization = ObsNormalization(np.asarray(norm["obs_mean"]), np.asarray(norm["obs_var"]), norm["clip_obs"],
                                     norm["epsilon"]) if norm else ObsNormalization()
    return Expert(name=name, env_id=expected, layers=layers, activation=info["architecture"]["activation"],
                  normalization=normalization, action_low=action_space.low, action_high=action_space.high, info=info)


def load_expert(task: str, fixed_horizon: bool = False, *, directory: str | Path | None = None) -> Expert:
    """The committed expert of a MuJoCo task (reacher, hopper, halfcheetah, walker2d, ant; the
    seals form with fixed_horizon=True), checked. `ex.act(obs)` maps one raw observation to the
    action the environment takes; `ex.env_id` is the gymnasium id it was trained on (seals ids need
    `import seals`); `ex.info` has its settings and measured return. Raises ExpertError for a
    missing, changed or mismatched file."""
    return read_expert(Path(directory) if directory is not None else EXPERT_DIR, expert_name(task, fixed_horizon),
                       task=task, fixed_horizon=fixed_horizon)


# ----- recipes --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    """How an expert is trained: SB3 PPO settings, the budget, the target return and the source
    of the settings."""

    name: str
    task: str
    fixed_horizon: bool
    settings: PPOSettings
    steps: int
    target: float
    source: str

    def to_json(self) -> dict[str, Any]:
        settings = {**self.settings.__dict__, "hidden": list(self.settings.hidden),
                    "batch_size": self.settings.batch_size}
        return {"algorithm": "PPO", "steps": self.steps, "target": self.target, "source": self.source,
                "settings": settings}


def recipes(path: Path = RECIPES) -> dict[str, Recipe]:
    """Every expert's recipe by name (a table per expert in recipes.toml)."""
    out = {}
    for name, table in tomllib.loads(path.read_text()).items():
        values = dict(table)
        task, fixed = values.pop("task"), values.pop("fixed_horizon", False)
        steps, target, source = values.pop("steps"), values.pop("target"), values.pop("source")
        n_envs, n_steps = values.get("n_envs", 1), values.get("n_steps", 2048)
        if "batch_size" in values:  # the sources give a minibatch size; PPOSettings a count
            batch = values.pop("batch_size")
            values["n_minibatches"] = max(1, n_envs * n_steps // batch)
        if "hidden" in values:
            values["hidden"] = tuple(values["hidden"])
        values.setdefault("n_envs", n_envs)
        values.setdefault("n_steps", n_steps)
        out[name] = Recipe(name, task, fixed, PPOSettings(**values), steps, target, source)
        if expert_name(task, fixed) != name:
            raise ExpertError(f"{path}: recipe [{name}] is for {expert_name(task, fixed)!r}")
    return out


def recipe_for(task: str, fixed_horizon: bool) -> Recipe:
    name = expert_name(task, fixed_horizon)
    known = recipes()
    if name not in known:
        raise ExpertError(f"no recipe for expert {name!r} in {RECIPES} (recipes: {', '.join(known)})")
    return known[name]


# ----- training ---------------------------------------------------------------------------------------

def train_expert(task: str, fixed_horizon: bool = False, *, steps: int | None = None, seed: int = 0,
                 directory: Path = EXPERT_DIR, name: str | None = None, checkpoint_dir: Path | None = None,
                 progress: bool = True, command: str = "", record: dict[str, Any] | None = None,
                 eval_episodes: int = EVAL_EPISODES, select_episodes: int = SELECT_EPISODES) -> Expert:
    """Train the task's expert from its recipe (steps: the recipe's unless given) and write it as
    `name` (the expert's own name by default) into `directory`.

    Every 1/CHECKPOINTS of the budget the run is saved (checkpoint_dir, a folder in the cache by
    default; a run with the same recipe and seed resumes from the last, and a larger budget goes on
    from there, the best checkpoint so far kept) and the deterministic
    policy is scored on select_episodes episodes; the best of those policies is the expert, as
    rl-baselines3-zoo's EvalCallback keeps its best model (PPO's return on Hopper swings by
    thousands between updates). Its return is then measured on eval_episodes other episodes."""
    recipe = recipe_for(task, fixed_horizon)
    steps = recipe.steps if steps is None else steps
    name = name or recipe.name
    make = lambda: make_env(task, fixed_horizon)  # noqa: E731
    # the run's identity leaves the budget out: a larger budget continues the same run where it stopped
    recipe_json = recipe.to_json()
    recipe_json.pop("steps")
    spec = {"recipe": recipe_json, "seed": seed, "env_id": env_id(task, fixed_horizon)}
    checkpoint_dir = checkpoint_dir or default_cache_dir().parent / "expert-runs" / f"{name}-{cache_key(spec)}"
    _, action_space = spaces(task, fixed_horizon)
    as_expert = lambda arrays, normalization: Expert(  # noqa: E731
        name, env_id(task, fixed_horizon), layers_of(arrays), recipe.settings.activation, normalization,
        action_space.low, action_space.high, {})
    start = time.perf_counter()
    with seeded_global_rngs(seed), torch_threads(1):
        model, state = _resume_or_start(make, recipe.settings, seed, spec, checkpoint_dir)
        if state["resumed_at"] and state["resumed_at"][-1] >= steps:  # finished before: nothing resumed
            state["resumed_at"].pop()
        every = max(recipe.settings.steps_per_update, steps // CHECKPOINTS)
        bar = _progress_bar(steps, name, model.num_timesteps, progress)
        try:
            while model.num_timesteps < steps:
                before = model.num_timesteps
                model.learn(total_timesteps=min(every, steps - model.num_timesteps), reset_num_timesteps=False,
                            progress_bar=False)
                bar.update(model.num_timesteps - before)
                arrays, normalization = expert_arrays(model), ObsNormalization.of(model.get_vec_normalize_env())
                selection = mean_return(as_expert(arrays, normalization), make, select_episodes, SELECT_SEED,
                                        deterministic=True)
                state["curve"].append([int(model.num_timesteps), round(selection, 1)])
                if state["best"] is None or selection > state["best"][1]:
                    state["best"] = [int(model.num_timesteps), selection]
                    _save_arrays(checkpoint_dir / "best.npz", {**arrays, **normalization_arrays(normalization)})
                state["train_s"] += time.perf_counter() - start
                start = time.perf_counter()
                _save_checkpoint(model, state, checkpoint_dir)
                bar.set_postfix_str(f"return {selection:,.0f}, best {state['best'][1]:,.0f}")
                if not progress and command:  # a command without its bar: one line a checkpoint (a log's)
                    print(f"{name}: {model.num_timesteps:,}/{steps:,} steps, return {selection:,.0f} (best "
                          f"{state['best'][1]:,.0f}), {state['train_s'] / 60:.1f} min", file=sys.stderr, flush=True)
        finally:
            bar.close()
    with np.load(checkpoint_dir / "best.npz", allow_pickle=False) as best:
        arrays = {key: best[key] for key in best.files if not key.startswith("obs_")}
        normalization = ObsNormalization(best["obs_mean"], best["obs_var"], float(best["obs_clip"]),
                                         float(best["obs_epsilon"])) if "obs_mean" in best.files else ObsNormalization()
    observation_space, _ = spaces(task, fixed_horizon)
    info: dict[str, Any] = {
        "format": FORMAT, "name": name, "task": task, "fixed_horizon": fixed_horizon,
        "env_id": env_id(task, fixed_horizon), "observation_shape": list(observation_space.shape),
        "action_shape": list(action_space.shape),
        "architecture": {"hidden": list(recipe.settings.hidden), "activation": recipe.settings.activation,
                         "policy": "SB3 MlpPolicy actor: Linear layers, the action head last; Gaussian, state-"
                                   "independent log-std; acts with the mean, clipped to the action space"},
        "normalization": {"obs_mean": normalization.mean.tolist(), "obs_var": normalization.var.tolist(),
                          "clip_obs": normalization.clip, "epsilon": normalization.epsilon}
        if normalization.mean is not None else {},
        "training": {**recipe.to_json(), "steps": steps, "trained_steps": int(model.num_timesteps), "seed": seed,
                     "command": command,
                     "train_s": round(state["train_s"], 1), "resumed_at": state["resumed_at"],
                     "selected_at": state["best"][0], "selection": {"episodes": select_episodes, "seed": SELECT_SEED,
                                                                   "curve": state["curve"]}},
        **git_state(),
        "versions": package_versions(("numpy", "torch", *MUJOCO_STACK)),
        **(record or {}),
    }
    returns, lengths = episode_stats(as_expert(arrays, normalization), make, eval_episodes, EVAL_SEED, deterministic=True)
    info["evaluation"] = {"episodes": eval_episodes, "policy": "deterministic", "seed": EVAL_SEED,
                          "mean": float(returns.mean()), "std": float(returns.std()),
                          "mean_length": float(lengths.mean()), "returns": [float(r) for r in returns]}
    write_expert(directory, name, arrays, info)
    return read_expert(directory, name, task=task, fixed_horizon=fixed_horizon)


def layers_of(arrays: dict[str, Array]) -> tuple[tuple[Array, Array], ...]:
    n_layers = sum(1 for key in arrays if key.startswith("layer") and key.endswith(".weight"))
    return tuple((arrays[f"layer{i}.weight"], arrays[f"layer{i}.bias"]) for i in range(n_layers))


def normalization_arrays(normalization: ObsNormalization) -> dict[str, Array]:
    if normalization.mean is None:
        return {}
    return {"obs_mean": normalization.mean, "obs_var": normalization.var, "obs_clip": np.array(normalization.clip),
            "obs_epsilon": np.array(normalization.epsilon)}


def _save_arrays(path: Path, arrays: dict[str, Array]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(tmp, path)


def _resume_or_start(make: Callable, settings: PPOSettings, seed: int, spec: dict, checkpoint_dir: Path):
    """(model, state): the last checkpoint of this spec's run where there is one, else a fresh agent."""
    from stable_baselines3 import PPO

    venv = vec_env(make, settings.n_envs, seed)
    state_path = checkpoint_dir / "state.json"
    if state_path.exists():
        try:
            state = json.loads(state_path.read_text())
            if state["spec"] != json.loads(canonical(spec)):
                raise ValueError("another spec")
            model = make_ppo(venv, settings, seed)
            loaded = PPO.load(checkpoint_dir / "model.zip", env=model.get_env(), device="cpu")
            if loaded.get_vec_normalize_env() is not None:
                with np.load(checkpoint_dir / "normalization.npz", allow_pickle=False) as stats:
                    _set_statistics(loaded.get_vec_normalize_env(), stats)
            state["resumed_at"].append(int(loaded.num_timesteps))
            print(f"{checkpoint_dir.name}: resuming at {loaded.num_timesteps:,} steps", file=sys.stderr)
            return loaded, state
        except Exception as error:  # a checkpoint from another version or a damaged one: start again
            print(f"{checkpoint_dir}: checkpoint not used ({type(error).__name__}: {error}); starting afresh",
                  file=sys.stderr)
    model = make_ppo(venv, settings, seed)
    return model, {"spec": json.loads(canonical(spec)), "train_s": 0.0, "resumed_at": [], "best": None, "curve": []}


def _save_checkpoint(model, state: dict, checkpoint_dir: Path) -> None:
    """model.zip (SB3's format: a local checkpoint, never committed), the normalization's running
    statistics, then state.json, each replaced atomically."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    tmp = checkpoint_dir / "model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, checkpoint_dir / "model.zip")
    venv = model.get_vec_normalize_env()
    if venv is not None:
        _save_arrays(checkpoint_dir / "normalization.npz", {
            "obs_mean": venv.obs_rms.mean, "obs_var": venv.obs_rms.var, "obs_count": np.array(venv.obs_rms.count),
            "ret_mean": venv.ret_rms.mean, "ret_var": venv.ret_rms.var, "ret_count": np.array(venv.ret_rms.count),
            "returns": venv.returns})
    fd, tmp_state = tempfile.mkstemp(dir=checkpoint_dir, suffix=".json")
    with os.fdopen(fd, "w") as handle:
        json.dump({**state, "num_timesteps": int(model.num_timesteps)}, handle)
    os.replace(tmp_state, checkpoint_dir / "state.json")


def _set_statistics(venv, stats) -> None:
    venv.obs_rms.mean, venv.obs_rms.var, venv.obs_rms.count = stats["obs_mean"], stats["obs_var"], float(stats["obs_count"])
    venv.ret_rms.mean, venv.ret_rms.var, venv.ret_rms.count = stats["ret_mean"], stats["ret_var"], float(stats["ret_count"])
    venv.returns = stats["returns"]


def _progress_bar(total: int, name: str, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=name, unit="step", unit_scale=True, disable=not enabled,
                file=sys.stderr, dynamic_ncols=True)


# ----- the experts a task uses --------------------------------------------------------------------

def cached_expert(task: str, fixed_horizon: bool, steps: int, cache_dir: Path | None = None, *,
                  eval_episodes: int = EVAL_EPISODES) -> Expert:
    """A local expert: the task's recipe trained for `steps` (seed 0), cached in the committed
    experts' format under the cache's experts/ folder, checked the same way on every load; a file
    that fails its check is trained again, with a CacheWarning. Trials that need it at once wait
    for the one that trains it (a lock file per expert)."""
    import fcntl

    recipe = recipe_for(task, fixed_horizon)
    spec = {"recipe": recipe.to_json(), "steps": steps, "seed": 0, "env_id": env_id(task, fixed_horizon),
            "versions": package_versions(("torch", *MUJOCO_STACK[:4])), "format": FORMAT, "eval_episodes": eval_episodes}
    name = f"{recipe.name}-{cache_key(spec)}"
    directory = cache_dir or default_cache_dir().parent / "experts"

    def checked() -> Expert | None:
        if not (directory / f"{name}.json").exists():
            return None
        try:
            return read_expert(directory, name, task=task, fixed_horizon=fixed_horizon)
        except ExpertError as error:
            warnings.warn(f"{error}; trained again", CacheWarning, stacklevel=3)
            return None

    expert = checked()  # no lock needed to read a finished file (a read-only cache included)
    if expert is not None:
        return expert
    train = lambda where: train_expert(task, fixed_horizon, steps=steps, directory=where, name=name,  # noqa: E731
                                       checkpoint_dir=where / f"{name}.run", progress=False,
                                       record={"local_spec": spec}, eval_episodes=eval_episodes,
                                       select_episodes=min(SELECT_EPISODES, eval_episodes))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock = open(directory / f"{name}.lock", "a")
    except OSError:  # an uncacheable expert is trained for this trial alone
        with tempfile.TemporaryDirectory() as scratch:
            return train(Path(scratch))
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return checked() or train(directory)


def committed_experts() -> list[dict[str, Any]]:
    """One row per recipe: the committed expert's measured return, target and training time, or
    what is wrong with it."""
    rows = []
    for name, recipe in recipes().items():
        row = {"name": name, "env_id": env_id(recipe.task, recipe.fixed_horizon), "target": recipe.target,
               "source": recipe.source}
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ExpertVersionWarning)
                expert = load_expert(recipe.task, recipe.fixed_horizon)
            evaluation, training = expert.info["evaluation"], expert.info["training"]
            row.update(status="ok" if not caught else "version warning", steps=training["steps"],
                       mean=evaluation["mean"], std=evaluation["std"], train_s=training["train_s"],
                       sha256=expert.sha256[:12], problem=str(caught[0].message) if caught else "")
        except ExpertError as error:
            row.update(status="missing" if "no expert" in str(error) else "refused", problem=str(error))
        rows.append(row)
    return rows
