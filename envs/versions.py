"""The versions a result depends on: installed packages and the git commit of the code.

The lowest layer (nothing of the project imported): records (benchmark.pipeline), expert files
(envs.mujoco.experts) and dataset keys all read them here.
"""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

# what the MuJoCo track's numbers depend on beside numpy, scipy and torch
MUJOCO_STACK = ("stable-baselines3", "gymnasium", "mujoco", "seals", "imitation", "ray")
# what an environment's dynamics depend on: an expert trained under other versions may act differently
DYNAMICS = ("gymnasium", "mujoco", "seals")


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """name -> installed version ("unknown" where not installed)."""
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "unknown"
    return found


@functools.cache
def git_state() -> dict[str, str]:
    """The git commit of the project's code, and whether its package folders differ from it."""
    here = Path(__file__).parent
    try:
        git = lambda *args: subprocess.run(["git", *args], cwd=here, capture_output=True, text=True,  # noqa: E731
                                           timeout=5).stdout.strip()
        return {"git_commit": git("rev-parse", "HEAD") or "unknown",
                "git_dirty": str(bool(git("status", "--porcelain", "--untracked-files=no", "--", ":/envs", ":/methods",
                                          ":/benchmark")))}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown"}
