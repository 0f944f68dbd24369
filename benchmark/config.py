"""Trial configs: suites (hyperparameters as data) expanded and resolved into typed configs.

A resolved trial config is a plain dict with every field filled in; its hash is the trial id.
Precedence: config class defaults < the config's profile budget overrides (a method's, a task's or
a learner's `profiles`) < suite defaults < suite cell < the cell's `profiles.PROFILE` table < the
suite's search point < command-line --set overrides.

Search spaces. A suite may sweep config keys in a `[search]` table, one spec per dotted key:

    samples = 8          # random draws of the non-grid keys per grid point (default 1)
    search_seed = 0      # seeds those draws
    [search]
    method.alpha_model = { grid = [0.1, 0.3, 1.0] }
    protocol.pairs_per_batch = { lograndint = [100, 10000] }

Spec kinds (TUNE_FUNCTIONS): grid and choice take a list of values, uniform and loguniform a float
[lo, hi], randint and lograndint an int [lo, hi) (upper bound exclusive, Tune's convention). The
specs become Ray Tune search-space objects (tune.grid_search, tune.choice, ...) and Tune's
variant generator expands them on the driver with a numpy generator seeded by search_seed, so a
suite always gives the same points in the same order. Every point is an override deep-merged
into every cell before resolve(), so each trial is still one fully resolved config with its own
trial id; its label names the swept values (e.g. "alpha_model=0.5"). Random draws that coincide
are run once; samples > 1 without a random spec, and --set on a swept key, are errors (they would
repeat trials). ray is imported only for a suite that has a search.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.config_fields import Range, check_fields, rule
from envs.protocol import ProtocolConfig
from envs.registry import LEARNERS, TASKS, TRACK_OF_TASK, all_learners
from benchmark import plugins
from benchmark.references import REFERENCES
from benchmark.suite_files import PROFILES, SUITES_DIR, ConfigError, did_you_mean, suite_names  # noqa: F401 (re-exported)
from methods.registry import METHODS


class MethodConfigs(Mapping):
    """The method section's configs by name: every registered method's (plugins included, as they
    are registered) and the reference rows'."""

    def __getitem__(self, name: str) -> type:
        return METHODS[name].Config if name in METHODS else REFERENCES[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**METHODS, **REFERENCES})

    def __len__(self) -> int:
        return len({**METHODS, **REFERENCES})


SECTIONS: dict[str, Mapping[str, type]] = {
    "task": {name: cls for name, (cls, _) in TASKS.items()},
    "learner": all_learners(),  # for listings; a trial's learner comes from its task's track (section_registry)
    "protocol": {ProtocolConfig.name: ProtocolConfig},
    "method": MethodConfigs(),
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
    search: dict[str, dict[str, Any]] = field(default_factory=dict)  # dotted key -> {kind: arguments}
    samples: int = 1
    search_seed: int = 0

    @property
    def search_size(self) -> int:
        """How many points the search has, at most (coinciding random draws are run once)."""
        grid = math.prod(len(args) for spec in self.search.values() for kind, args in spec.items() if kind == "grid")
        return grid * self.samples


def load_suite(spec: str) -> Suite:
    """A packaged suite by name (benchmark/suites/NAME.toml), or a suite file of the user's by path
    (SPEC holds a '/' or ends in .toml). A user suite's records carry its own name (its `name` key,
    else the file's stem), which may not be a packaged suite's: a file elsewhere never puts its
    records into a paper's table."""
    if is_suite_path(spec):
        path = Path(spec)
        if not path.is_file() and path.with_name(path.name + ".toml").is_file():
            path = path.with_name(path.name + ".toml")  # path/to/suite for path/to/suite.toml
        if not path.is_file():
            raise ConfigError(f"no suite file at {spec!r}")
        data = read_suite_file(path)
        name = data.get("name", path.stem)
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ConfigError(f"suite file {spec}: name must be a non-empty string without '/', got {name!r}")
        if name in suite_names():
            raise ConfigError(f"suite file {spec} is named {name!r}, like a packaged suite: give it a name of its own "
                              f"(name = \"...\" in the file); the packaged one runs as `irlbench run {name}`")
    else:
        path = SUITES_DIR / f"{spec}.toml"
        if not path.exists():
            raise ConfigError(f"unknown suite {spec!r}{did_you_mean(spec, suite_names())} (valid: "
                              f"{', '.join(suite_names())}, or the path of a suite file)")
        data, name = read_suite_file(path), spec
    seeds, defaults, cells, matrix = (data.get("seeds", 1), data.get("defaults", {}), data.get("cells", [{}]),
                                      data.get("matrix", {}))
    if not _is_int(seeds) or seeds < 1:
        raise ConfigError(f"suite {name}: seeds must be an integer of at least 1, got {seeds!r}")
    if not (isinstance(defaults, dict) and isinstance(cells, list) and all(isinstance(c, dict) for c in cells)
            and isinstance(matrix, dict) and all(isinstance(v, list) and all(isinstance(p, dict) for p in v)
                                                 for v in matrix.values())):
        raise ConfigError(f"suite {name}: expected a [defaults] table, [[cells]] tables and a [matrix] of lists of "
                          "tables (see benchmark/suites/gridworld.toml)")
    return Suite(
        name=name,
        description=str(data.get("description", "")),
        seeds=seeds,
        layout=str(data.get("layout", "generic")),
        defaults=defaults,
        cells=tuple(matrix_cells(matrix, cells)),
        **search_settings(data),
    )


def is_suite_path(spec: str) -> bool:
    """Whether `irlbench run SPEC` names a suite file by path rather than a packaged suite."""
    return "/" in spec or spec.endswith(".toml")


def read_suite_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read the suite file {path}: {error}") from None


def matrix_cells(matrix: dict[str, list[dict]], cells: list[dict]) -> list[dict]:
    """Cells x the cartesian product of the matrix's per-section presets, e.g.
    [matrix] method = [{name = "lfl"}, {name = "maxent"}], learner = [{name = "spi", k = 3}, ...].
    A preset scales its values per profile as a cell does, with its own `profiles` table
    ({ name = "gail", profiles.quick = { total_timesteps = 81_920 } }: the method's quick budget)."""
    out = [dict(cell) for cell in cells]
    for section, presets in matrix.items():
        out = [deep_merge(cell, preset_cell(section, preset)) for cell in out for preset in presets]
    return [with_method_settings(cell) for cell in out]


def with_method_settings(cell: dict) -> dict:
    """A cell's `method_settings.NAME` table merged into its method when the method is NAME (a task's
    own values of one method on a board, e.g. imitation's tuned GAIL settings for HalfCheetah; the
    other methods of the cell do not have those keys). Like a preset, it may hold a `profiles` table."""
    settings = cell.get("method_settings", {})
    if not isinstance(settings, dict) or any(not isinstance(v, dict) for v in settings.values()):
        raise ConfigError(f"a cell's method_settings must be tables named after methods, got {settings!r}")
    cell = {k: v for k, v in cell.items() if k != "method_settings"}
    name = cell.get("method", {}).get("name")
    return deep_merge(cell, preset_cell("method", settings[name])) if name in settings else cell


def preset_cell(section: str, preset: dict) -> dict:
    """A matrix preset as a cell: its values under `section`, its `profiles` lifted to the cell's."""
    values = {k: v for k, v in preset.items() if k != "profiles"}
    profiles = preset.get("profiles", {})
    if not isinstance(profiles, dict) or any(not isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"a matrix preset's profiles must be tables named after profiles, got {profiles!r}")
    cell: dict = {section: values}
    if profiles:
        cell["profiles"] = {name: {section: table} for name, table in profiles.items()}
    return cell


# Search spaces: spec kind -> the Ray Tune search-space function it becomes.
TUNE_FUNCTIONS = {"grid": "grid_search", "choice": "choice", "uniform": "uniform", "loguniform": "loguniform",
                  "randint": "randint", "lograndint": "lograndint"}
LIST_KINDS = ("grid", "choice")
VALID_SPECS = ("{ grid = [values] }, { choice = [values] }, { uniform = [lo, hi] }, { loguniform = [lo, hi] }, "
               "{ randint = [lo, hi] }, { lograndint = [lo, hi] } (int ranges exclude hi)")


def search_settings(data: dict[str, Any]) -> dict[str, Any]:
    """A suite file's `[search]` table (flattened to dotted keys), `samples` and `search_seed`, checked."""
    search = flatten_search(data.get("search", {}))
    for key, spec in search.items():
        check_search_spec(key, spec)
    samples, seed = data.get("samples", 1), data.get("search_seed", 0)
    if not _is_int(samples) or samples < 1:
        raise ConfigError(f"suite samples must be an integer of at least 1, got {samples!r}")
    if not _is_int(seed):
        raise ConfigError(f"suite search_seed must be an integer, got {seed!r}")
    if samples > 1 and all(kind == "grid" for spec in search.values() for kind in spec):
        raise ConfigError("suite samples > 1 needs a random search spec (choice, uniform, loguniform, randint, "
                          "lograndint): a grid alone gives the same trials again")
    return {"search": search, "samples": samples, "search_seed": seed}


def flatten_search(table: dict[str, Any]) -> dict[str, Any]:
    """Both TOML spellings, `method.alpha_model = {...}` (a nested table) and
    `"method.alpha_model" = {...}`, to {"method.alpha_model": {...}}."""
    if not isinstance(table, dict):
        raise ConfigError(f"suite search must be a table of section.key = spec, got {table!r}")
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update({f"{key}.{name}": spec for name, spec in value.items()})
        else:
            flat[key] = value
    return flat


def check_search_spec(key: str, spec: Any) -> None:
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name or "." in name:
        raise ConfigError(f"search key {key!r}: expected section.key with section one of {', '.join(SECTIONS)}")
    if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in TUNE_FUNCTIONS):
        raise ConfigError(f"search {key} = {spec!r}: expected one of {VALID_SPECS}")
    (kind, args), = spec.items()
    problem = _spec_problem(kind, args)
    if problem:
        raise ConfigError(f"search {key} = {spec!r}: {problem}; valid specs: {VALID_SPECS}")


def _spec_problem(kind: str, args: Any) -> str | None:
    """What is wrong with one spec's arguments, or None."""
    if kind in LIST_KINDS:
        return None if isinstance(args, list) and args else f"{kind} takes a non-empty list of values"
    number = _is_int if kind.endswith("randint") else _is_number
    if not (isinstance(args, list) and len(args) == 2 and all(map(number, args))):
        return f"{kind} takes [lo, hi], two {'integers' if number is _is_int else 'numbers'}"
    lo, hi = args
    if lo >= hi:
        return f"{kind} needs lo < hi"
    if kind.startswith("log") and lo <= 0:
        return f"{kind} needs lo > 0"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def search_points(search: dict[str, dict[str, Any]], *, samples: int, seed: int) -> list[dict[str, Any]]:
    """The search's points, each {dotted key: value}, in Tune's order: `samples` passes over the
    grid, each pass drawing the random keys afresh from one generator seeded by `seed`. Without
    a search, one empty point (the cell itself)."""
    if not search:
        return [{}]
    from ray.tune.search.variant_generator import generate_variants  # slow: only for suites that search

    space = nest({key: tune_domain(spec) for key, spec in search.items()})
    rng = np.random.default_rng(seed)
    points: list[dict[str, Any]] = []
    for _ in range(samples):
        for _, variant in generate_variants(space, random_state=rng):
            point = {key: _plain(variant[section][name]) for key in search for section, name in [key.split(".")]}
            if point not in points:  # coinciding random draws would be the same trial
                points.append(point)
    return points


def tune_domain(spec: dict[str, Any]) -> Any:
    """One checked spec as a Ray Tune search-space object, e.g. {"uniform": [0, 1]} -> tune.uniform(0, 1)."""
    from ray import tune

    (kind, args), = spec.items()
    function = getattr(tune, TUNE_FUNCTIONS[kind])
    return function(list(args)) if kind in LIST_KINDS else function(*args)


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones (records are JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def nest(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"method.alpha_model": v} -> {"method": {"alpha_model": v}}."""
    nested: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, name = key.split(".", 1)
        nested.setdefault(section, {})[name] = value
    return nested


def with_point(cell: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """A cell with one search point merged in, its label naming the swept values."""
    if not point:
        return cell
    merged = deep_merge(cell, nest(point))
    merged["label"] = ", ".join(filter(None, [cell.get("label", ""), point_label(point)]))
    return merged


def point_label(point: dict[str, Any]) -> str:
    """e.g. "alpha_model=0.5"; the full dotted key where two sections sweep the same name."""
    names = [key.split(".", 1)[1] for key in point]
    return ", ".join(f"{name if names.count(name) == 1 else key}={_format(value)}"
                     for (key, value), name in zip(point.items(), names))


def _format(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def parse_override(text: str, flag: str = "--set") -> tuple[str, Any]:
    """'section.key=value' -> (key, value); values are JSON (true, 0.5, "x") or bare strings."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ConfigError(f"malformed {flag} {text!r}: expected section.key=value with section one of "
                          f"{', '.join(SECTIONS)}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _coerce(key: str, value: Any, field: dataclasses.Field) -> Any:
    """`value` as the type of the field's default (an int is a valid float, a bool is not a number);
    None where the field's declared range admits it."""
    declared = rule(field)
    if value is None and isinstance(declared, Range) and declared.none_ok:
        return None
    kind = type(field.default)
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


def section_registry(section: str, track: str | None = None) -> dict[str, type]:
    """Config classes by name of one section; learners are those of the task's track."""
    if section == "learner" and track is not None:
        return LEARNERS[track]
    if section == "method" and track is not None:
        return {**SECTIONS[section], **{name: m.config_class(track) for name, m in METHODS.items()}}
    return SECTIONS[section]


def track_of(config: dict[str, Any]) -> str | None:
    """The track of a (resolved or partial) trial config's task, None if it names no known task."""
    return TRACK_OF_TASK.get(config.get("task", {}).get("name"))


def profile_overrides(section: str, name: str, cls: type, profile: str) -> dict[str, Any]:
    """A profile's budget overrides of one config: a method's (its `profiles`) or a task's or
    learner's config class's own `profiles`."""
    if section == "method":  # a track's own Config may carry its own profiles
        owner = cls if "profiles" in vars(cls) else METHODS.get(name)
        return dict(getattr(owner, "profiles", {}).get(profile, {}))
    return dict(getattr(cls, "profiles", {}).get(profile, {}))


def _build(section: str, values: dict[str, Any], profile: str, track: str | None = None) -> dict[str, Any]:
    registry = section_registry(section, track)
    name = values.get("name", DEFAULT_NAMES.get(section))
    if name is None:
        raise ConfigError(f"no {section} named: set {section}.name in the suite or with --set "
                          f"(valid: {', '.join(sorted(registry))})")
    if name not in registry:
        if section == "method" and name in plugins.BROKEN:
            raise ConfigError(plugins.BROKEN[name])
        where = f" for a {track} task" if section == "learner" and track else ""
        raise ConfigError(f"unknown {section} {name!r}{where}{did_you_mean(name, registry)} "
                          f"(valid: {', '.join(sorted(registry))})")
    cls = registry[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = {key: f.default for key, f in fields.items()}
    merged: dict[str, Any] = profile_overrides(section, name, cls, profile)
    merged.update({k: v for k, v in values.items() if k != "name"})
    for key in merged:
        if key not in defaults:
            raise ConfigError(f"unknown config key {section}.{key} for {section} {name!r}"
                              f"{did_you_mean(key, defaults)} (valid: {', '.join(['name', *defaults])})")
    typed = {k: _coerce(f"{section}.{k}", v, fields[k]) for k, v in merged.items()}
    try:
        check_fields(cls, {**defaults, **typed}, section)  # every field, the class defaults included
        instance = cls(**typed)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return {"name": name, **dataclasses.asdict(instance)}


def resolve(cell: dict[str, Any], *, suite: str, seed: int, profile: str,
            overrides: list[tuple[str, Any]] = ()) -> dict[str, Any]:
    """One fully resolved trial config (a JSON-able dict)."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r} (valid: {', '.join(PROFILES)})")
    cell = with_profile(cell, profile)
    values = {section: dict(cell.get(section, {})) for section in SECTIONS}
    for key, value in overrides:
        section = key.split(".", 1)[0]
        if section not in SECTIONS:
            raise ConfigError(f"unknown config section {section!r} in {key!r}{did_you_mean(section, SECTIONS)} "
                              f"(valid: {', '.join(SECTIONS)})")
    # A --set that names another task, learner or method keeps only the cell's keys that the one it
    # names has too (lfl-table2's alpha_model goes under --set method.name=maxent; a key shared by
    # two methods stays); its own --set keys are all checked against that one.
    names = {key.split(".", 1)[0]: value for key, value in overrides if key.split(".", 1)[1] == "name"}  # the last
    for section, name in names.items():
        if not isinstance(name, str):
            raise ConfigError(f"malformed value for {section}.name: expected a name, got {name!r}")
        if name != values[section].get("name", DEFAULT_NAMES.get(section)):
            values[section] = _keys_of(section, name, values[section],
                                       TRACK_OF_TASK.get(names.get("task", values["task"].get("name"))))
    # a --set task.name on another track: the cell's learner keeps the keys its namesake there has
    old_track, new_track = TRACK_OF_TASK.get(values["task"].get("name")), TRACK_OF_TASK.get(names.get("task"))
    if "task" in names and new_track != old_track and "learner" not in names and "name" in values["learner"]:
        values["learner"] = _keys_of("learner", values["learner"]["name"], values["learner"], new_track)
    for key, value in overrides:
        section, field = key.split(".", 1)
        values[section][field] = value
    resolved = {"task": _build("task", values["task"], profile)}
    track = TRACK_OF_TASK[resolved["task"]["name"]]
    resolved.update({section: _build(section, values[section], profile, track) for section in SECTIONS if section != "task"})
    problem = getattr(SECTIONS["task"][resolved["task"]["name"]], "protocol_problem", lambda _: None)(resolved["protocol"])
    if problem:
        raise ConfigError(problem)
    source = plugins.source_of(resolved["method"]["name"])
    if source is not None:  # a plugin's code is part of what the trial is: its id changes with it
        resolved["plugin"] = source.identity()
    return {"suite": suite, "label": cell.get("label", ""), "seed": seed, "profile": profile, **resolved}


def with_profile(cell: dict[str, Any], profile: str) -> dict[str, Any]:
    """A cell with its `profiles.PROFILE` table merged in: a suite file scales a cell's values per
    profile (e.g. the MuJoCo learners' observed windows), beside the paper's values it states."""
    profiles = cell.get("profiles", {})
    if not isinstance(profiles, dict) or any(name not in PROFILES or not isinstance(v, dict)
                                             for name, v in profiles.items()):
        raise ConfigError(f"a suite cell's profiles must be tables named after profiles ({', '.join(PROFILES)}), "
                          f"got {profiles!r}")
    return deep_merge({k: v for k, v in cell.items() if k != "profiles"}, profiles.get(profile, {}))


def _keys_of(section: str, name: str, values: dict[str, Any], track: str | None) -> dict[str, Any]:
    """`values` without the keys that the config named `name` (of `track`'s registry) has not."""
    registry = section_registry(section, track)
    keys = {f.name for f in dataclasses.fields(registry[name])} if name in registry else ()
    return {k: v for k, v in values.items() if k in keys or k == "name"}


def deep_merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def expand(suite: Suite, *, seeds: int, profile: str, overrides: list[tuple[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every trial of a suite: cells x search points x seeds, resolved. Raises ConfigError before
    anything runs. Each cell and point is resolved once; its seeds share the resolved sections (the
    configs are read, never changed)."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    fixed = sorted(key for key, _ in overrides if key in suite.search)
    if fixed:
        raise ConfigError(f"--set {', '.join(fixed)}: the suite {suite.name!r} sweeps this key; "
                          f"every search point would be the same trial")
    points = search_points(suite.search, samples=suite.samples, seed=suite.search_seed)
    bases = [resolve(with_point(with_profile(deep_merge(suite.defaults, cell), profile), point), suite=suite.name, seed=0, profile=profile,
                     overrides=overrides)
             for cell in suite.cells for point in points]
    for key in suite.search:
        section, name = key.split(".", 1)
        if any(name not in base[section] for base in bases):
            raise ConfigError(f"the suite {suite.name!r} sweeps {key}, which the {section} named by --set has not")
    # cells an override made identical run once (--set method.name=lfl on the gridworld board: LfL on each learner)
    unique: dict[str, dict[str, Any]] = {}
    for base in bases:
        unique.setdefault(trial_id(base), base)
    return [{**base, "seed": seed} for base in unique.values() for seed in range(seeds)]


TOP_LEVEL_KEYS = ("seed", "label")  # what --only may name beside section.key


def parse_filter(text: str) -> tuple[str, Any]:
    """--only's 'section.key=value' or 'seed=N' / 'label=TEXT' -> (key, value)."""
    key = text.split("=", 1)[0].strip()
    if "=" in text and key in TOP_LEVEL_KEYS:
        return key, parse_override(f"x.{text}", flag="--only")[1]
    if "=" not in text or "." not in key:
        raise ConfigError(f"malformed --only {text!r}: expected section.key=value with section one of "
                          f"{', '.join(SECTIONS)}, or {' or '.join(k + '=...' for k in TOP_LEVEL_KEYS)}")
    return parse_override(text, flag="--only")


def select(configs: list[dict[str, Any]], filters: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The trials whose resolved config has each filter's value (`--only method.name=gail`: a part of a
    board; one key given twice takes either value). A key no trial has, or a value none has, is an
    error that names the values the suite's trials take."""
    wanted: dict[str, list[Any]] = {}
    for key, value in filters:
        wanted.setdefault(key, []).append(value)
    for key, values in wanted.items():
        section, _, field = key.partition(".")
        taken = [c.get(key, MISSING) if not field else c.get(section, {}).get(field, MISSING) for c in configs]
        present = list(dict.fromkeys(json.dumps(v) for v in taken if v is not MISSING))
        missing = [v for v in values if json.dumps(v) not in present]
        if missing:
            raise ConfigError(f"--only {key}={json.dumps(missing[0])}: no trial of this run has it (valid: "
                              f"{', '.join(present) or 'none: no trial has the key ' + key})")
        configs = [c for c, v in zip(configs, taken) if v is not MISSING and json.dumps(v) in map(json.dumps, values)]
    return configs


MISSING = object()


def trial_id(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
