"""Trial configs: suites (hyperparameters as data) expanded and resolved into typed configs.

A resolved trial config is a plain dict with every field filled in; its hash is the trial id.
Precedence: config class defaults < the method's profile budget overrides < suite defaults
< suite cell < command-line --set overrides.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from envs.learners import LEARNERS
from envs.tasks import TASKS
from methods.registry import METHODS

SUITES_DIR = Path(__file__).parent / "suites"
PROFILES = ("smoke", "quick", "paper")


class ConfigError(ValueError):
    """Bad user input: an unknown name or key, or a malformed value."""


@dataclass(frozen=True)
class ProtocolConfig:
    """How the observer sees the learner.

    observation: "trajectories" (one sampled stream per policy) or "policies" (the exact
    policies, LfL Table 1). pairs_per_batch: state-action pairs per observed policy.
    grant_dynamics: whether the observer is given the true transition model.
    """

    name: ClassVar[str] = "learner_sequence"
    observation: str = "trajectories"
    pairs_per_batch: int = 1000
    grant_dynamics: bool = False

    def __post_init__(self) -> None:
        if self.observation not in ("trajectories", "policies"):
            raise ValueError("protocol.observation must be one of trajectories, policies")
        if self.pairs_per_batch < 1:
            raise ValueError("protocol.pairs_per_batch must be at least 1")


SECTIONS: dict[str, dict[str, type]] = {
    "task": {name: cls for name, (cls, _) in TASKS.items()},
    "learner": dict(LEARNERS),
    "protocol": {ProtocolConfig.name: ProtocolConfig},
    "method": {name: m.Config for name, m in METHODS.items()},
}
DEFAULT_NAMES = {"protocol": ProtocolConfig.name}


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    seeds: int
    layout: str
    defaults: dict[str, Any]
    cells: tuple[dict[str, Any], ...]


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def load_suite(name: str) -> Suite:
    path = SUITES_DIR / f"{name}.toml"
    if not path.exists():
        raise ConfigError(f"unknown suite {name!r} (valid: {', '.join(suite_names())})")
    data = tomllib.loads(path.read_text())
    return Suite(
        name=data.get("name", name),
        description=data.get("description", ""),
        seeds=int(data.get("seeds", 1)),
        layout=data.get("layout", "generic"),
        defaults=data.get("defaults", {}),
        cells=tuple(matrix_cells(data.get("matrix", {}), data.get("cells", [{}]))),
    )


def matrix_cells(matrix: dict[str, list[dict]], cells: list[dict]) -> list[dict]:
    """Cells x the cartesian product of the matrix's per-section presets, e.g.
    [matrix] method = [{name = "lfl"}, {name = "maxent"}], learner = [{name = "spi", k = 3}, ...]."""
    out = [dict(cell) for cell in cells]
    for section, presets in matrix.items():
        out = [deep_merge(cell, {section: preset}) for cell in out for preset in presets]
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """'section.key=value' -> (key, value); values are JSON (true, 0.5, "x") or bare strings."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"malformed --set {text!r}: expected section.key=value with section one of "
                          f"{', '.join(SECTIONS)}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _coerce(key: str, value: Any, default: Any) -> Any:
    kind = type(default)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ConfigError(f"malformed value for {key}: expected {kind.__name__}, got {value!r}")


def _build(section: str, values: dict[str, Any], profile: str) -> dict[str, Any]:
    registry = SECTIONS[section]
    name = values.get("name", DEFAULT_NAMES.get(section))
    if name not in registry:
        raise ConfigError(f"unknown {section} {name!r} (valid: {', '.join(sorted(registry))})")
    cls = registry[name]
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    merged: dict[str, Any] = {}
    if section == "method":
        merged.update(METHODS[name].profiles.get(profile, {}))
    merged.update({k: v for k, v in values.items() if k != "name"})
    for key in merged:
        if key not in defaults:
            raise ConfigError(f"unknown config key {section}.{key} for {section} {name!r} "
                              f"(valid: {', '.join(['name', *defaults])})")
    typed = {k: _coerce(f"{section}.{k}", v, defaults[k]) for k, v in merged.items()}
    try:
        instance = cls(**typed)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return {"name": name, **dataclasses.asdict(instance)}


def resolve(cell: dict[str, Any], *, suite: str, seed: int, profile: str,
            overrides: list[tuple[str, Any]] = ()) -> dict[str, Any]:
    """One fully resolved trial config (a JSON-able dict)."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r} (valid: {', '.join(PROFILES)})")
    values = {section: dict(cell.get(section, {})) for section in SECTIONS}
    # A name override first: it selects which config class the other keys are checked against.
    for key, value in sorted(overrides, key=lambda kv: not kv[0].endswith(".name")):
        section, field = key.split(".", 1)
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section {section!r} in {key!r} (valid: {', '.join(SECTIONS)})")
        values[section][field] = value
    resolved = {section: _build(section, values[section], profile) for section in SECTIONS}
    return {"suite": suite, "label": cell.get("label", ""), "seed": seed, "profile": profile, **resolved}


def deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def expand(suite: Suite, *, seeds: int, profile: str, overrides: list[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every trial of a suite: cells x seeds, resolved. Raises ConfigError before anything runs."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    return [resolve(deep_merge(suite.defaults, cell), suite=suite.name, seed=seed, profile=profile,
                    overrides=overrides)
            for cell in suite.cells for seed in range(seeds)]


def trial_id(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
