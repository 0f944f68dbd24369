"""What the quick commands import: `irlbench --help` and `irlbench list` read declarations only,
so they start in a fraction of a second (the heavy libraries take seconds to import)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "stable_baselines3", "imitation", "gymnasium", "mujoco", "ray", "pandas", "matplotlib",
         "seaborn", "scipy.optimize", "scipy.sparse", "tqdm")


def imported_by(code: str) -> list[str]:
    """The heavy libraries a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split("\n")[-2].split()


@pytest.mark.parametrize("code", [
    "from benchmark.cli import main; main(['--help'])",
    "from benchmark.cli import main; main(['run', '--help'])",
    "from benchmark.cli import main; main(['list'])",
    "import irlbench",
    "import benchmark.config, methods.registry, envs.registry",
], ids=["help", "run-help", "list", "api", "registries"])
def test_the_quick_commands_and_the_registries_import_no_heavy_library(code):
    wrapped = f"try:\n    {code}\nexcept SystemExit:\n    pass"
    assert imported_by(wrapped) == []
