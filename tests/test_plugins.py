"""Methods from outside the package: --plugin files and modules, entry-point packages, their
checks, their trial ids, and the Python API against the command line."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import api, plugins
from benchmark.cli import main
from benchmark.store import ResultsStore
from methods.registry import BUILTIN, METHODS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FILE_PLUGIN = EXAMPLES / "plugins" / "batch_progress.py"

PLUGIN = '''
from dataclasses import dataclass
import numpy as np
from envs.config_fields import bounded, one_of
from methods.base import FitResult, IRLMethod, RecoveredReward


@dataclass(frozen=True)
class Settings:
    scale: float = bounded(1.0, gt=0)
    form: str = one_of("flat", "flat", "noise")


class Flat(IRLMethod):
    """A zero reward (or noise): a method for the tests."""

    name = "{name}"
    uses = "demonstrations"
    Config = Settings

    def fit(self, data, task, *, seed):
        {body}
        rng = np.random.default_rng(seed)
        shape = (task.n_states, task.n_actions)
        table = np.zeros(shape) if self.config.form == "flat" else rng.normal(size=shape)
        return FitResult(RecoveredReward(table=self.config.scale * table))
'''


def write_plugin(directory: Path, name: str = "flat", body: str = "pass", filename: str = "flat_plugin.py",
                 text: str | None = None) -> Path:
    path = directory / filename
    path.write_text(text if text is not None else PLUGIN.replace("{name}", name).replace("{body}", body))
    return path


@pytest.fixture(autouse=True)
def registry_restored():
    """A test's plugins leave the registry as they found it."""
    yield
    METHODS.clear()
    METHODS.update(BUILTIN)
    plugins.SOURCES.clear()
    plugins.BROKEN.clear()
    plugins._MODULE_SOURCES.clear()
    for name in [m for m in sys.modules if m.startswith("irlbench_plugin_")]:
        del sys.modules[name]
    plugins._FILE_TEXTS.clear()


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_every_builtin_method_passes_the_checks_a_plugin_gets():
    assert {name: plugins.method_problem(cls) for name, cls in BUILTIN.items()} == dict.fromkeys(BUILTIN)


def test_a_file_plugin_is_resolved_like_a_builtin_method_and_its_source_is_in_the_config(tmp_path):
    path = write_plugin(tmp_path)
    configs = api.trials("lfl-table2", seeds=1, overrides={"method.name": "flat", "method.scale": 2},
                         plugins=[str(path)])
    assert len(configs) == 4  # lfl-table2's alpha_model is dropped: flat has no such key
    assert all(c["method"] == {"name": "flat", "scale": 2.0, "form": "flat"} for c in configs)
    digest = hashlib.sha256(path.read_text().encode()).hexdigest()
    assert all(c["plugin"] == {"module": f"irlbench_plugin_flat_plugin_{digest[:12]}", "sha256": digest, "version": ""}
               for c in configs)
    assert "plugin" not in api.trials("lfl-table2", seeds=1)[0]  # built-in trials keep their ids


def test_the_trial_id_changes_with_the_plugin_file_and_not_with_where_it_lies(tmp_path):
    from benchmark.config import trial_id

    ids = lambda path: [trial_id(c) for c in api.trials("lfl-table2", seeds=1, plugins=[str(path)],  # noqa: E731
                                                         overrides={"method.name": "flat"})]
    path = write_plugin(tmp_path)
    before = ids(path)
    path.write_text(path.read_text() + "\n# an edit\n")
    after = ids(path)
    (tmp_path / "elsewhere").mkdir()
    moved = write_plugin(tmp_path / "elsewhere", text=path.read_text())
    assert set(before).isdisjoint(after) and ids(moved) == after


@pytest.mark.parametrize("text, message", [
    ("import no_such_module_here\n", "failed to import: ModuleNotFoundError: No module named 'no_such_module_here'"),
    ("def broken(:\n", "failed to import: SyntaxError"),
    ("x = 1\n", "defines no IRLMethod subclass"),
    (PLUGIN.replace("{name}", "lfl").replace("{body}", "pass"), "named 'lfl', like the built-in one"),
    (PLUGIN.replace("{name}", "bc").replace("{body}", "pass"), "the name 'bc' is a reference row's"),
    (PLUGIN.replace("{name}", "Bad Name").replace("{body}", "pass"), "name must be lower-case"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace("scale: float = bounded(1.0, gt=0)",
                                                                        "scale: float"), "every field needs a default"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace("@dataclass(frozen=True)", "@dataclass"),
     "Config must be frozen"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace('uses = "demonstrations"', 'uses = "all"'),
     "uses must be one of sequence, demonstrations"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace("bounded(1.0, gt=0)", "bounded(-1.0, gt=0)"),
     "a default is out of its declared range"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace('uses = "demonstrations"',
                                                                        'uses = "demonstrations"\n    resources = {"cpu": 0}'),
     "resources must be"),
    (PLUGIN.replace("{name}", "flat").replace("{body}", "pass").replace("Config = Settings", "configs = 5"),
     "Config must be the method's config dataclass"),
])
@pytest.mark.parametrize("command", ["run", "list"])
def test_a_bad_plugin_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys, text, message, command):
    path = write_plugin(tmp_path, text=text)
    store = tmp_path / "store"
    argv = ["run", "lfl-table1", "--store", str(store), "--backend", "serial"] if command == "run" else ["list"]
    code, out, err = cli(capsys, *argv, "--plugin", str(path))
    assert code == 2 and out == ""
    assert err.startswith("irlbench: error:") and message in err and len(err.strip().splitlines()) == 1
    assert not store.exists()


@pytest.mark.parametrize("setting, message", [
    ("method.scale=-1", "method.scale = -1.0 is out of range (valid: scale > 0)"),
    ("method.scale=big", "malformed value for method.scale: expected float"),
    ("method.form=spiky", "form must be one of flat, noise"),
    ("method.nope=1", "unknown config key method.nope for method 'flat' (valid: name, scale, form)"),
])
def test_a_plugin_methods_config_is_typed_and_validated(tmp_path, capsys, setting, message):
    path = write_plugin(tmp_path)
    code, _, err = cli(capsys, "run", "lfl-table1", "--plugin", str(path), "--set", "method.name=flat",
                       "--set", setting, "--store", str(tmp_path / "store"), "--backend", "serial")
    assert code == 2 and message in err and not (tmp_path / "store").exists()


def test_a_missing_plugin_file_or_module(tmp_path, capsys):
    assert cli(capsys, "list", "--plugin", str(tmp_path / "none.py"))[2].strip() == \
        f"irlbench: error: no plugin file at '{tmp_path / 'none.py'}'"
    code, _, err = cli(capsys, "list", "--plugin", "no_such_plugin_module")
    assert code == 2 and "plugin 'no_such_plugin_module' failed to import: ModuleNotFoundError" in err


def test_a_plugin_method_that_raises_is_a_failed_record_and_the_sweep_goes_on(tmp_path, capsys):
    path = write_plugin(tmp_path, name="boom", body="raise ValueError('boom from the plugin')")
    store = tmp_path / "store"
    code, _, err = cli(capsys, "run", "lfl-table2", "--seeds", "1", "--plugin", str(path), "--set", "method.name=boom",
                       "--store", str(store), "--backend", "serial", "--no-progress")
    records = [json.loads(line) for line in (store / "records.jsonl").read_text().splitlines()]
    assert code == 1 and "4 trial(s) failed" in err and len(records) == 4
    assert {r["status"] for r in records} == {"failed"}
    assert all(r["error"] == "ValueError: boom from the plugin" for r in records)
    assert records[0]["plugin"]["kind"] == "file" and records[0]["plugin"]["path"] == str(path)


def test_list_shows_a_plugin_with_its_config_keys(tmp_path, capsys):
    code, out, _ = cli(capsys, "list", "--plugin", str(write_plugin(tmp_path)))
    entry = " ".join(out[out.index("\n  flat "):out.index("\n  gail ")].split())  # its lines, unwrapped
    assert code == 0 and entry.startswith("flat uses demonstrations, tracks tabular ")
    assert entry.endswith(f"[plugin: file {tmp_path / 'flat_plugin.py'}]: A zero reward (or noise): a method for the "
                          "tests. scale=1.0, form='flat'")


def test_the_python_api_gives_the_records_the_command_line_gives(tmp_path, capsys):
    df = api.run("lfl-table1", store=tmp_path / "api", backend="serial", progress=False)
    assert main(["run", "lfl-table1", "--store", str(tmp_path / "cli"), "--backend", "serial", "--no-progress"]) == 0
    cli_records, api_records = ({r["trial_id"]: r for r in ResultsStore(tmp_path / name).records()} for name in ("cli", "api"))
    same = lambda r: {k: r[k] for k in ("config", "status", "metrics", "method", "learner", "seed")}  # noqa: E731
    assert {k: same(r) for k, r in api_records.items()} == {k: same(r) for k, r in cli_records.items()}
    assert sorted(df.trial_id) == sorted(cli_records) and (df.status == "ok").all()
    text = api.report(df)
    assert text.startswith("## lfl-table1 (profile quick)") and "LfL Table 1" in text


def example_env(tmp_path: Path) -> dict[str, str]:
    """The example package installed (with its entry point) into a folder of its own on PYTHONPATH:
    what `pip install ./examples/irlbench-lastbatch` does to a venv, without changing this one."""
    source, target = tmp_path / "package", tmp_path / "site"
    shutil.copytree(EXAMPLES / "irlbench-lastbatch", source)  # pip builds in the source folder
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    paths = [str(target), str(ROOT), os.environ.get("PYTHONPATH")]  # the code under test, whatever is installed
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}


def irlbench(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("irlbench")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "benchmark.cli"]
    return subprocess.run([*command, *argv], env=env, capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_the_examples_run_on_ray_and_on_mujoco_and_the_report_shows_them_beside_the_builtin_methods(tmp_path):
    env = example_env(tmp_path)
    store = str(tmp_path / "store")
    listed = irlbench(env, "list")
    assert listed.returncode == 0 and "last_batch_density" in listed.stdout and "[plugin: entry point" in listed.stdout
    smoke = ["--profile", "smoke", "--seeds", "2", "--store", store, "--no-progress"]
    packaged = irlbench(env, "run", "gridworld", *smoke, "--set", "method.name=last_batch_density")  # Ray: the default
    single_file = irlbench(env, "run", "gridworld", *smoke, "--plugin", str(FILE_PLUGIN), "--set", "method.name=batch_progress")
    builtin = irlbench(env, "run", "gridworld", *smoke, "--only", "method.name=lfl", "--backend", "serial")
    for run in (packaged, single_file, builtin):
        assert run.returncode == 0, run.stderr
    assert "starting Ray (" in packaged.stderr and "Token authentication" not in packaged.stderr
    assert "Failed to fetch metrics" not in packaged.stderr + single_file.stderr
    on_mujoco = ["--profile", "smoke", "--seeds", "1", "--only", "task.name=reacher", "--only", "learner.name=ppo",
                 "--store", store, "--no-progress", "--backend", "serial"]
    for method in ("last_batch_density", "batch_progress"):
        run = irlbench(env, "run", "mujoco", *on_mujoco, "--plugin", str(FILE_PLUGIN), "--set", f"method.name={method}")
        assert run.returncode == 0, run.stderr
    records = list(ResultsStore(store).records())
    by_method = {m: [r for r in records if r["method"] == m] for m in ("last_batch_density", "batch_progress", "lfl")}
    assert [len(v) for v in by_method.values()] == [13, 13, 12]  # 6 learners x 2 seeds, and one Reacher trial
    assert {r["status"] for r in records} == {"ok"}
    assert {r["plugin"]["kind"] for r in by_method["last_batch_density"]} == {"entry point"}
    assert {r["plugin"]["version"] for r in by_method["last_batch_density"]} == {"0.1.0"}
    report = irlbench(env, "report", "--store", store, "--suite", "gridworld")
    rows = {line.split(" | ")[0].strip("| ") for line in report.stdout.splitlines() if line.startswith("| ")}
    assert report.returncode == 0 and {"last_batch_density", "batch_progress", "lfl"} <= rows


def test_two_plugin_files_of_one_name_are_two_modules_and_each_ships_its_own_text(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first, second = write_plugin(tmp_path / "a", name="plug_a"), write_plugin(tmp_path / "b", name="plug_b")
    api.load_plugins(str(first), str(second))
    shipped = plugins.shipment(api.trials("lfl-table1", overrides={"method.name": "plug_a"}))
    assert len(shipped) == 1 and shipped[0]["path"] == str(first) and shipped[0]["text"] == first.read_text()
    assert plugins.SOURCES["plug_a"].module != plugins.SOURCES["plug_b"].module


def test_a_broken_installed_plugin_is_a_warning_and_only_its_own_runs_are_refused(monkeypatch, tmp_path, capsys):
    import importlib.metadata

    class Broken:
        name, value, dist = "broken_one", "nowhere_at_all:Method", None

        def load(self):
            raise ImportError("No module named 'nowhere_at_all'")

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [Broken()])
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    code, _, err = cli(capsys, "list")
    assert code == 0 and "irlbench: warning: plugin the entry point 'broken_one'" in err and "is unavailable" in err
    monkeypatch.setattr(plugins, "_entry_points_loaded", False)
    code, _, err = cli(capsys, "run", "lfl-table1", "--set", "method.name=broken_one", "--store", str(tmp_path / "s"),
                       "--backend", "serial")
    assert code == 2 and "failed to import: ImportError: No module named 'nowhere_at_all'" in err.splitlines()[-1]
    assert not (tmp_path / "s").exists()


def test_list_shows_a_plugin_method_without_a_docstring(tmp_path, capsys):
    text = PLUGIN.replace("{name}", "bare").replace("{body}", "pass").replace(
        '    """A zero reward (or noise): a method for the tests."""\n', "")
    code, out, err = cli(capsys, "list", "--plugin", str(write_plugin(tmp_path, text=text)))
    assert code == 0 and "Traceback" not in err
    assert " ".join(out[out.index("\n  bare "):out.index("\n  gail ")].split()).find("(no description)") > 0


@pytest.mark.parametrize("body, message", [
    ("return FitResult(RecoveredReward(table=np.zeros((3, 4))))",
     r"method 'wrong' returned a reward table of shape \(3, 4\) and dtype float64; expected a real array of shape "
     r"\(25, 4\)"),
    ("return FitResult(RecoveredReward(table=np.full((task.n_states, task.n_actions), 'x')))",
     r"method 'wrong' returned a reward table of shape \(25, 4\) and dtype <U1"),
])
def test_a_reward_of_the_wrong_shape_is_refused_where_the_method_returns_it(tmp_path, capsys, body, message):
    path = write_plugin(tmp_path, name="wrong", body=body)
    store = tmp_path / "store"
    code, _, _ = cli(capsys, "run", "lfl-table2", "--seeds", "1", "--plugin", str(path), "--set", "method.name=wrong",
                     "--store", str(store), "--backend", "serial", "--no-progress", "--only", "learner.name=spi")
    record = json.loads((store / "records.jsonl").read_text().splitlines()[0])
    assert code == 1 and record["status"] == "failed"
    assert re.search(message, record["error"]) and record["error"].startswith("RewardShapeError")
