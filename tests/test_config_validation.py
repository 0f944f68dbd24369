"""Config values are checked against their fields' declared ranges and choices when a trial config is
resolved: a bad value from --set, a suite file or a search space is one line naming the key and
what is valid, exit code 2, and nothing is run or written."""

import dataclasses
import math
import types
import typing

import pytest

from benchmark import config
from benchmark.cli import main
from benchmark.config import SECTIONS, ConfigError, Suite, expand, resolve, search_settings
from envs.config_fields import Choices, Range, check_fields, rule
from envs.registry import LEARNERS, TRACK_OF_TASK
from envs.tabular.learners import RandomImprovementsConfig
from envs.tabular.task import GridworldConfig
from methods.adversarial import AdversarialConfig

CELL = {"task": {"name": "lfl-gridworld"}, "learner": {"name": "spi"}, "method": {"name": "lfl"}}
CLASSES = [(section, name, cls) for section, registry in SECTIONS.items() if section != "learner"
           for name, cls in registry.items()] + [("learner", name, cls) for track in LEARNERS
                                                 for name, cls in LEARNERS[track].items()]
CLASS_IDS = [f"{section}.{name}" for section, name, _ in CLASSES]


def numeric_kind(cls: type, field: dataclasses.Field) -> type | None:
    """int or float for a field annotated int, float, int | None or float | None; else None."""
    hint = typing.get_type_hints(cls)[field.name]
    kinds = set(typing.get_args(hint)) - {type(None)} if isinstance(hint, types.UnionType) else {hint}
    return kinds.pop() if len(kinds) == 1 and kinds <= {int, float} else None


def fields_of(kind: type) -> list[tuple[str, type, dataclasses.Field]]:
    """(section, class, field) of every registered config field of numeric kind `kind` (int or float)."""
    classes = dict.fromkeys((section, cls) for section, _, cls in CLASSES)  # gail and airl share one class
    return [(section, cls, f) for section, cls in classes for f in dataclasses.fields(cls) if numeric_kind(cls, f) is kind]


def field_ids(fields: list[tuple[str, type, dataclasses.Field]]) -> list[str]:
    return [f"{section}.{cls.__name__}.{f.name}" for section, cls, f in fields]


FLOAT_FIELDS, INT_FIELDS = fields_of(float), fields_of(int)


MUJOCO_CELL = {"task": {"name": "hopper"}, "learner": {"name": "ppo"}, "method": {"name": "oracle"}}


def resolve_with(section: str, values: dict) -> dict:
    """CELL with `values` in `section`; a MuJoCo task or learner goes in a MuJoCo cell."""
    mujoco = (section == "task" and TRACK_OF_TASK.get(values.get("name")) == "mujoco") or \
        (section == "learner" and values.get("name") in LEARNERS["mujoco"] and values.get("name") not in LEARNERS["tabular"])
    cell = config.deep_merge(MUJOCO_CELL if mujoco else CELL, {section: values})
    return resolve(cell, suite="test", seed=0, profile="quick")


@pytest.mark.parametrize("override, message", [
    ("task.gamma=1.5", "task.gamma = 1.5 is out of range (valid: 0 <= gamma < 1)"),
    ("method.alpha_model=NaN", "method.alpha_model = nan is not a finite number (valid: alpha_model > 0)"),
    ("method.alpha_model=Infinity", "method.alpha_model = inf is not a finite number (valid: alpha_model > 0)"),
    ("method.alpha_model=-Infinity", "method.alpha_model = -inf is not a finite number (valid: alpha_model > 0)"),
    ("learner.k=-1", "learner.k = -1 is out of range (valid: k >= 0)"),
    ("task.slip=1.01", "task.slip = 1.01 is out of range (valid: 0 <= slip <= 1)"),
    ("protocol.pairs_per_batch=0", "protocol.pairs_per_batch = 0 is out of range (valid: pairs_per_batch >= 1)"),
    ("protocol.observation=episodes",
     "protocol.observation = 'episodes' is not valid: observation must be one of trajectories, policies"),
])
def test_a_bad_set_value_exits_2_with_one_line_naming_the_key_and_range(tmp_path, capsys, override, message):
    store = tmp_path / "store"
    code = main(["run", "lfl-table2", "--seeds", "1", "--backend", "serial", "--no-progress", "--store", str(store),
                 "--set", override])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == f"irlbench: error: {message}"
    assert not store.exists()


@pytest.mark.parametrize("defaults, message", [
    ('task = { name = "lfl-gridworld" }\nmethod = { name = "lfl", alpha_model = nan }',
     "method.alpha_model = nan is not a finite number (valid: alpha_model > 0)"),
    ('task = { name = "lfl-gridworld", gamma = inf }\nmethod = { name = "lfl" }',
     "task.gamma = inf is not a finite number (valid: 0 <= gamma < 1)"),
    ('task = { name = "lfl-gridworld" }\nmethod = { name = "lfl", prior_weight = -1.0 }',
     "method.prior_weight = -1.0 is out of range (valid: prior_weight >= 0)"),
])
def test_a_bad_suite_file_default_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys, defaults, message):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "bad.toml").write_text(f'[defaults]\nlearner = {{ name = "spi" }}\n{defaults}\n')
    monkeypatch.setattr(config, "SUITES_DIR", suites)
    store = tmp_path / "store"
    code = main(["run", "bad", "--backend", "serial", "--no-progress", "--store", str(store)])
    assert code == 2
    assert capsys.readouterr().err.strip() == f"irlbench: error: {message}"
    assert not store.exists()


def test_resolve_rejects_a_cell_whose_values_are_nan():
    with pytest.raises(ConfigError) as error:
        resolve_with("method", {"alpha_model": math.nan})
    assert str(error.value) == "method.alpha_model = nan is not a finite number (valid: alpha_model > 0)"
    with pytest.raises(ConfigError) as error:
        resolve_with("learner", {"name": "svi", "q_init": math.nan})
    assert str(error.value) == "learner.q_init = nan is not a finite number (valid: any finite number)"


def test_a_search_point_outside_the_range_is_rejected_before_anything_runs():
    suite = Suite(name="sweep", description="", seeds=1, layout="ablation", defaults=CELL, cells=({},),
                  **search_settings({"search": {"method.alpha_model": {"grid": [0.5, 0.0]}}}))
    with pytest.raises(ConfigError, match=r"method\.alpha_model = 0\.0 is out of range \(valid: alpha_model > 0\)"):
        expand(suite, seeds=1, profile="quick")


@pytest.mark.parametrize("section, name, cls", CLASSES, ids=CLASS_IDS)
def test_every_field_declares_what_is_valid_and_its_default_obeys_it(section, name, cls):
    for field in dataclasses.fields(cls):
        kind = numeric_kind(cls, field)
        if kind is not None:
            assert isinstance(rule(field), Range), f"{section}.{field.name} ({kind.__name__}) declares no range"
        elif typing.get_type_hints(cls)[field.name] is str:
            assert isinstance(rule(field), Choices), f"{section}.{field.name} (str) declares no choices"
            assert field.default in rule(field).values
        check_fields(cls, {field.name: field.default}, section)
    cls()  # the defaults together pass the checks that involve several fields
    assert resolve_with(section, {"name": name})[section]["name"] == name


@pytest.mark.parametrize("section, cls, field", FLOAT_FIELDS, ids=field_ids(FLOAT_FIELDS))
def test_every_float_field_rejects_nan_and_infinities(section, cls, field):
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=rf"^{section}\.{field.name} = {value!r} is not a finite number \(valid: "):
            check_fields(cls, {field.name: value}, section)
    with pytest.raises(ValueError, match="is not a number"):  # a bool is not a number here
        check_fields(cls, {field.name: True}, section)


@pytest.mark.parametrize("section, cls, field", INT_FIELDS, ids=field_ids(INT_FIELDS))
def test_every_int_field_rejects_nan_and_bools(section, cls, field):
    with pytest.raises(ValueError, match="is not a finite number"):
        check_fields(cls, {field.name: math.nan}, section)
    with pytest.raises(ValueError, match="is not a number"):
        check_fields(cls, {field.name: False}, section)


def test_every_declared_bound_is_inclusive_or_exclusive_as_declared():
    checked = 0
    for section, _, cls in CLASSES:
        for field in dataclasses.fields(cls):
            declared = rule(field)
            if not isinstance(declared, Range):
                continue
            for inclusive, exclusive in ((declared.ge, declared.gt), (declared.le, declared.lt)):
                if inclusive is not None:
                    check_fields(cls, {field.name: inclusive}, section)
                    checked += 1
                if exclusive is not None:
                    with pytest.raises(ValueError, match="is out of range"):
                        check_fields(cls, {field.name: exclusive}, section)
                    checked += 1
    assert checked > 50


@pytest.mark.parametrize("section, values, valid", [
    ("task", {"gamma": 0.0}, True),
    ("task", {"gamma": 1.0}, False),
    ("task", {"slip": 1.0}, True),
    ("task", {"slip": 0.0}, True),
    ("task", {"alpha": 0.0}, False),
    ("learner", {"k": 0}, True),
    ("learner", {"name": "q_learning", "learning_rate": 1.0}, True),
    ("learner", {"name": "q_learning", "learning_rate": 0.0}, False),
    ("protocol", {"pairs_per_batch": 1}, True),
    ("method", {"name": "logel", "n_windows": 2}, True),
    ("method", {"name": "logel", "n_windows": 1}, False),
])
def test_the_boundary_through_resolve(section, values, valid):
    if valid:
        resolve_with(section, values)
    else:
        with pytest.raises(ConfigError, match=f"{section}.{next(k for k in values if k != 'name')} = "):
            resolve_with(section, values)


def test_an_optional_field_takes_none_and_the_others_do_not():
    assert resolve_with("method", {"name": "logel", "horizon": None})["method"]["horizon"] is None
    with pytest.raises(ConfigError, match=r"^method\.horizon = 0 is out of range \(valid: horizon >= 1 or None\)$"):
        resolve_with("method", {"name": "logel", "horizon": 0})
    with pytest.raises(ConfigError, match="task.gamma"):
        resolve_with("task", {"gamma": None})


def test_a_config_built_in_code_obeys_the_same_declarations():
    with pytest.raises(ValueError, match=r"^task\.gamma = 1\.5 is out of range \(valid: 0 <= gamma < 1\)$"):
        GridworldConfig(gamma=1.5)
    with pytest.raises(ValueError, match=r"^learner\.n_observed = 20 exceeds learner\.n_policies = 15"):
        RandomImprovementsConfig(n_observed=20)
    with pytest.raises(ValueError, match=r"^method\.n_envs \* method\.n_steps = 1 is too small"):
        AdversarialConfig(n_envs=1, n_steps=1)
    with pytest.raises(ConfigError, match=r"^method\.total_timesteps = 100 is less than one round"):
        resolve_with("method", {"name": "gail", "total_timesteps": 100})


@pytest.mark.parametrize("argv, message", [
    (["run", "gridwrld"], "unknown suite 'gridwrld' (did you mean 'gridworld'?)"),
    (["run", "gridworld", "--set", "method.name=lf1"], "unknown method 'lf1' (did you mean 'lfl'?)"),
    (["run", "lfl-table2", "--set", "method.alpha_mdoel=0.3"],
     "unknown config key method.alpha_mdoel for method 'lfl' (did you mean 'alpha_model'?)"),
    (["run", "gridworld", "--set", "metod.name=lfl"], "unknown config section 'metod' in 'metod.name' (did you mean 'method'?)"),
    (["run", "gridworld", "--set", "method.name=zzzz"], "unknown method 'zzzz' (valid: "),
])
def test_a_misspelt_name_or_key_gets_a_suggestion(tmp_path, capsys, argv, message):
    assert main([*argv, "--store", str(tmp_path / "store")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "store").exists()
