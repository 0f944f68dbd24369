"""What can be known about suites without importing any method (torch, Ray): their files, names
and report layouts, the budget profiles, and the error type for bad user input. The report
command needs only this, so it starts in a fraction of a second."""

from __future__ import annotations

import tomllib
from pathlib import Path

SUITES_DIR = Path(__file__).parent / "suites"
PROFILES = ("smoke", "quick", "paper")


class ConfigError(ValueError):
    """Bad user input: an unknown name or key, or a malformed value."""


def did_you_mean(name: str, valid) -> str:
    """' (did you mean X?)' for the closest valid name to a misspelt one, else ''."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def suite_names() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def suite_layout(name: str) -> str:
    """The report layout a suite file names ("" for the generic table)."""
    return str(tomllib.loads((SUITES_DIR / f"{name}.toml").read_text()).get("layout", ""))
