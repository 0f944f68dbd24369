"""Declared ranges and choices of config fields, and the one check that enforces them.

Every config class (tasks, learners, the protocol, each method's Config) declares its numeric
fields with `bounded` and its fixed-choice strings with `one_of`. `check_fields` holds a dict of
values to those declarations: trial resolution (benchmark.config) calls it so that a bad value from
--set, a suite file or a search space is rejected before anything runs, and each class calls it
(through `check_config`) in __post_init__, so that a config built in code obeys the same rules.
This module is the lowest layer: envs, methods and benchmark all import it, it imports none of them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping

METADATA_KEY = "irlbench_rule"
MAX_INT = 2**53  # beyond it a JSON reader may turn an integer into an inexact float


@dataclass(frozen=True)
class Range:
    """A numeric range: ge/le inclusive, gt/lt exclusive, no bound where None; none_ok admits None.
    Whatever the bounds, the value must be a finite number (never a bool)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    none_ok: bool = False

    def describe(self, name: str) -> str:
        """The valid values in words, e.g. '0 <= gamma < 1', 'k >= 0', 'horizon >= 1 or None'."""
        low = (">=", self.ge) if self.ge is not None else (">", self.gt) if self.gt is not None else None
        high = ("<=", self.le) if self.le is not None else ("<", self.lt) if self.lt is not None else None
        if low and high:
            text = f"{low[1]:g} {'<=' if low[0] == '>=' else '<'} {name} {high[0]} {high[1]:g}"
        elif low or high:
            text = f"{name} {(low or high)[0]} {(low or high)[1]:g}"
        else:
            text = "any finite number"
        return f"{text} or None" if self.none_ok else text

    def problem(self, value: Any) -> str | None:
        """Why `value` is not valid ('is out of range', ...), or None."""
        if value is None and self.none_ok:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "is not a number"
        if isinstance(value, int) and abs(value) > MAX_INT:
            return "is too large"
        if not math.isfinite(value):
            return "is not a finite number"
        inside = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                  and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        return None if inside else "is out of range"


@dataclass(frozen=True)
class Choices:
    """A string field with a fixed set of values."""

    values: tuple[str, ...]


Rule = Range | Choices


def bounded(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            lt: float | None = None, none_ok: bool = False) -> Any:
    """A dataclass field whose value must lie in the given range (see Range)."""
    return dataclasses.field(default=default, metadata={METADATA_KEY: Range(ge, gt, le, lt, none_ok)})


def one_of(default: str, *choices: str) -> Any:
    """A dataclass field whose value must be one of `choices`."""
    return dataclasses.field(default=default, metadata={METADATA_KEY: Choices(tuple(choices))})


def rule(field: dataclasses.Field) -> Rule | None:
    """The range or choices a field declares, None if it declares neither."""
    return field.metadata.get(METADATA_KEY)


def field_problem(section: str, name: str, value: Any, declared: Rule) -> str | None:
    """One line saying why `section.name = value` breaks its declaration, or None."""
    if isinstance(declared, Choices):
        if isinstance(value, str) and value in declared.values:
            return None
        return f"{section}.{name} = {value!r} is not valid: {name} must be one of {', '.join(declared.values)}"
    problem = declared.problem(value)
    return None if problem is None else f"{section}.{name} = {value!r} {problem} (valid: {declared.describe(name)})"


def check_fields(cls: type, values: Mapping[str, Any], section: str) -> None:
    """Raise ValueError (one line naming section.key and its valid values) at the first field of
    `cls`, in declaration order, whose value in `values` breaks its declaration. Fields absent
    from `values` or declaring nothing are not checked."""
    for field in dataclasses.fields(cls):
        declared = rule(field)
        if declared is not None and field.name in values:
            problem = field_problem(section, field.name, values[field.name], declared)
            if problem:
                raise ValueError(problem)


def check_config(config: Any, section: str) -> None:
    """check_fields on a config instance's own values (for __post_init__)."""
    check_fields(type(config), {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}, section)
