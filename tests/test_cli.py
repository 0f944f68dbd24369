import io
import json
from contextlib import redirect_stdout

import pandas as pd
import pytest

from benchmark.cli import EXPORT_COLUMNS, main
from benchmark.store import ResultsStore
from benchmark.synthetic import trial_record


def run(*argv) -> tuple[int, str]:
    """The CLI in-process; `run` commands use the serial backend unless they name one (Ray is
    the default, and its own tests name it)."""
    argv = list(argv)
    if argv[0] == "run" and "--backend" not in argv:
        argv += ["--backend", "serial"]
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["run", "no-such-suite"], "valid: ablation-lfl-alpha-model, ablation-lfl-k, ablation-lfl-trajectory-length, "
                               "gridworld, iq-learn-table3, lfl-table1, lfl-table2, lfl-table3, mujoco, "
                               "mujoco-references"),
    (["run", "lfl-table2", "--only", "method.name=gail"], 'no trial of this run has it (valid: "lfl")'),
    (["run", "lfl-table2", "--only", "method.nope=1"], "no trial has the key method.nope"),
    (["run", "lfl-table2", "--only", "spi"], "malformed --only"),
    (["run", "lfl-table1", "--set", "method.name=nope"], "unknown method 'nope' (valid: "),
    (["run", "lfl-table1", "--set", "task.name=maze"], "unknown task 'maze'"),
    (["run", "lfl-table2", "--set", "learner.name=sarsa"], "unknown learner 'sarsa'"),
    (["run", "lfl-table1", "--set", "method.alpha_modle=0.5"], "unknown config key method.alpha_modle"),
    (["run", "lfl-table1", "--set", "method.alpha_model=high"], "malformed value for method.alpha_model"),
    (["run", "lfl-table1", "--set", "method.solver=newton"], "solver must be one of"),
    (["run", "lfl-table1", "--set", "nodot=1"], "malformed --set"),
    (["run", "lfl-table1", "--profile", "huge"], "unknown profile 'huge'"),
    (["run", "lfl-table1", "--backend", "mpi"], "unknown backend 'mpi'"),
    (["run", "lfl-table1", "--seeds", "0"], "--seeds must be at least 1"),
    (["run", "lfl-table1", "--seeds", "two"], "invalid int value"),
    (["run", "lfl-table1", "--time-limit", "0"], "--time-limit must be positive"),
    (["run", "lfl-table1", "--address", "127.0.0.1:1"], "cannot reach the Ray cluster at '127.0.0.1:1'"),
    (["export", "--suite", "nope"], "unknown suite 'nope'"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    store = tmp_path / "store"
    code = main([*argv, "--store", str(store)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("irlbench: error:") and message in err and len(err.splitlines()) == 1
    assert not store.exists()


def test_second_run_skips_finished_trials_and_export_has_the_columns(tmp_path, capsys):
    store = str(tmp_path / "store")
    assert run("run", "lfl-table1", "--store", store, "--no-progress")[0] == 0
    assert "2 to run" in capsys.readouterr().err
    assert run("run", "lfl-table1", "--store", store, "--no-progress")[0] == 0
    assert "2 already finished, 0 to run" in capsys.readouterr().err
    assert len(ResultsStore(store).records()) == 2
    code, csv = run("export", "--store", store)
    frame = pd.read_csv(io.StringIO(csv))
    assert code == 0 and list(frame.columns) == EXPORT_COLUMNS and len(frame) == 2
    assert (frame.regret.abs() < 1e-9).all() and (frame.status == "ok").all()
    code, text = run("report", "--store", store, "--suite", "lfl-table1")
    assert code == 0 and "Theorem 2" in text and "state-only" in text


def test_only_runs_the_part_of_a_suite_it_names(tmp_path, capsys):
    store = str(tmp_path / "store")
    argv = ("run", "lfl-table2", "--seeds", "2", "--store", store, "--backend", "serial", "--no-progress")
    assert run(*argv, "--only", "learner.name=spi", "--only", "learner.name=svi")[0] == 0
    assert "lfl-table2: 4 trial(s), 0 already finished, 4 to run" in capsys.readouterr().err
    assert {r["learner"] for r in ResultsStore(store).records()} == {"spi", "svi"}
    assert run(*argv, "--only", "learner.name=spi", "--only", "seed=1")[0] == 0  # a top-level key
    assert "1 trial(s), 1 already finished, 0 to run" in capsys.readouterr().err


def test_overrides_change_the_trial_id(tmp_path, capsys):
    store = str(tmp_path / "store")
    run("run", "lfl-table1", "--store", store, "--no-progress")
    run("run", "lfl-table1", "--store", store, "--no-progress", "--set", "task.stochastic=true")
    records = ResultsStore(store).records()
    assert len(records) == 4 and len({r["trial_id"] for r in records}) == 4
    assert sum(r["config"]["task"]["stochastic"] for r in records) == 2
    code, text = run("report", "--store", store)
    assert code == 0 and "deterministic gridworld" in text and "stochastic gridworld" in text


def test_report_never_mixes_profiles(tmp_path, capsys):
    store = str(tmp_path / "store")
    for profile in ("smoke", "quick"):
        assert run("run", "lfl-table1", "--store", store, "--no-progress", "--profile", profile)[0] == 0
    code, text = run("report", "--store", store)
    assert code == 0 and text.count("## lfl-table1 (profile ") == 2
    assert "(profile smoke)" in text and "(profile quick)" in text


def test_store_survives_a_partial_record(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([trial_record("a")])
    with open(store.path, "a") as handle:
        handle.write('{"trial_id": "b", "sta')  # a writer killed mid-record
    assert [r["trial_id"] for r in store.records()] == ["a"]
    assert len(pd.read_json(store.path, lines=True, nrows=1)) == 1
    store.append([trial_record("c")])
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["trial_id"] for line in lines] == ["a", "c"]
    assert len(pd.read_json(store.path, lines=True)) == 2


def test_a_failing_trial_is_a_record_and_the_run_exits_nonzero(tmp_path, capsys):
    store = str(tmp_path / "store")
    # GCL's segments are longer than the demonstrations: GCL raises, each trial is recorded as failed.
    code, _ = run("run", "lfl-table2", "--store", store, "--no-progress", "--seeds", "1", "--set", "method.name=gcl",
                  "--set", "protocol.grant_dynamics=true", "--set", "protocol.pairs_per_batch=5")
    assert code == 1
    records = ResultsStore(store).records()
    assert len(records) == 4 and all(r["status"] == "failed" for r in records)
    assert "fewer than horizon" in records[0]["error"]
    err = capsys.readouterr().err
    for record in records:  # one line a failure, naming it
        assert f"failed: {record['trial_id']} (lfl-table2/lfl-gridworld/{record['learner']}/gcl, seed 0): " in err
    # and `show` gives one in full, traceback included; a prefix of its id is enough
    code, shown = run("show", records[0]["trial_id"][:8], "--store", store)
    assert code == 0 and json.loads(shown[:shown.index("\ntraceback")])["trial_id"] == records[0]["trial_id"]
    assert "Traceback (most recent call last)" in shown and "fewer than horizon" in shown
    assert run("show", "ffffffffffff", "--store", store)[0] == 2
    assert "no trial(s) in" in capsys.readouterr().err


def test_a_method_without_the_access_it_needs_is_n_a(tmp_path, capsys):
    store = str(tmp_path / "store")
    # Exact policies without the dynamics: LfL cannot apply; GCL plans with the true dynamics.
    code, _ = run("run", "lfl-table1", "--store", store, "--no-progress", "--set", "protocol.grant_dynamics=false")
    assert code == 0
    records = ResultsStore(store).records()
    assert len(records) == 2 and all(r["status"] == "n/a" for r in records)
    assert "needs the dynamics" in records[0]["error"]
    code, _ = run("run", "lfl-table2", "--store", store, "--no-progress", "--seeds", "1", "--set", "method.name=gcl")
    assert code == 0
    assert any("needs model access" in (r["error"] or "") for r in ResultsStore(store).records())


def test_a_cell_the_method_cannot_fill_is_n_a_with_its_reason(tmp_path, capsys):
    store = str(tmp_path / "store")
    # One observed policy cannot define an improvement: not a failure, a cell LfL cannot fill.
    code, _ = run("run", "lfl-table1", "--store", store, "--no-progress", "--set", "learner.k=0")
    assert code == 0
    records = ResultsStore(store).records()
    assert all(r["status"] == "n/a" and "two observed policies" in r["error"] for r in records)
    run("run", "lfl-table1", "--store", store, "--no-progress", "--set", "learner.k=0")
    assert "0 to run" in capsys.readouterr().err


def test_ray_backend_gives_the_serial_backend_records_and_leaves_no_tune_state(tmp_path, capsys, monkeypatch):
    serial, ray_store = str(tmp_path / "serial"), str(tmp_path / "ray")
    monkeypatch.setenv("IRLBENCH_RAY_STORAGE", str(tmp_path / "tune"))
    assert run("run", "lfl-table1", "--store", serial, "--no-progress")[0] == 0
    assert run("run", "lfl-table1", "--store", ray_store, "--no-progress", "--backend", "ray")[0] == 0
    assert not [p for p in (tmp_path / "tune").iterdir() if p.is_dir()]  # the run's Tune folder is gone
    assert "Failed to fetch" not in capsys.readouterr().err
    by_id = {r["trial_id"]: r for r in ResultsStore(serial).records()}
    ray_records = ResultsStore(ray_store).records()
    assert sorted(by_id) == sorted(r["trial_id"] for r in ray_records)
    for record in ray_records:
        assert record["metrics"] == by_id[record["trial_id"]]["metrics"]


def test_suite_matrix_expands_to_the_cartesian_product():
    from benchmark.config import matrix_cells

    cells = matrix_cells({"method": [{"name": "lfl"}, {"name": "maxent"}],
                          "learner": [{"name": "spi", "k": 3}, {"name": "svi"}, {"name": "expert"}]},
                         [{"label": "a"}])
    assert len(cells) == 6 and all(c["label"] == "a" for c in cells)
    assert {(c["method"]["name"], c["learner"]["name"]) for c in cells} == {
        (m, l) for m in ("lfl", "maxent") for l in ("spi", "svi", "expert")}


def test_reading_without_artifacts_gives_the_same_records_less_their_artifacts(tmp_path):
    store = ResultsStore(tmp_path)
    store.append([trial_record("a", artifacts={"reward": [[1.0, -2.5]], "curve": [0.5]},
                               config={"seed": 0, "note": '}, "config": '}, metrics={"score": 1.0}),
                  trial_record("b", metrics={"score": 2.0})])
    full, lean = store.records(), store.records(artifacts=False)
    assert [{k: v for k, v in r.items() if k != "artifacts"} for r in full] == lean
    assert full[0]["artifacts"]["reward"] == [[1.0, -2.5]]


def test_bare_irlbench_prints_the_usage_and_version_prints_the_version(capsys):
    from importlib.metadata import version

    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: irlbench") and all(command in out for command in ("list", "run", "export", "report"))
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"irlbench {version('irlbench')}"


def test_a_run_writes_to_its_own_store_by_default_not_to_the_committed_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    assert main(["run", "lfl-table1", "--backend", "serial", "--no-progress"]) == 0
    assert "the records are in runs/: `irlbench report` shows them" in capsys.readouterr().err
    assert len(ResultsStore(tmp_path / "runs").records()) == 2 and not any((tmp_path / "results").iterdir())
    # report, export and show read the same default store
    assert main(["report", "--no-figures"]) == 0 and "lfl-table1" in capsys.readouterr().out
    assert main(["export"]) == 0 and capsys.readouterr().out.count("lfl-table1") == 2


@pytest.mark.parametrize("argv, message", [
    (["report"], "no records in "),
    (["report", "--suite", "gridworld"], "no records of suite 'gridworld' in "),
    (["export", "--suite", "lfl-table2"], "no records of suite 'lfl-table2' in "),
])
def test_a_report_of_nothing_is_an_error_naming_what_the_store_holds(tmp_path, capsys, argv, message):
    store = tmp_path / "store"
    ResultsStore(store).check_writable()  # an empty store
    if "--suite" in argv:
        ResultsStore(store).append([trial_record("a")])
    assert main([*argv, "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert message in err and ("its suites: " in err) == ("--suite" in argv)


def test_progress_into_a_log_is_lines_not_redraws(tmp_path, capsys):
    code, _ = run("run", "lfl-table2", "--seeds", "5", "--profile", "smoke", "--store", str(tmp_path / "store"))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("progress: ")]
    assert code == 0 and "\r" not in err and "it/s" not in err and "trial/s" not in err
    assert 1 <= len(lines) <= 3 and lines[-1].startswith("progress: 20/20 trial(s) done, 0 failed, 0 timed out")


def test_an_unusable_ray_storage_is_exit_2_before_any_store_is_touched(tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("IRLBENCH_CACHE", str(tmp_path / "a-file" / "cache"))  # nothing can be made under a file
    store = tmp_path / "store"
    assert main(["run", "lfl-table1", "--store", str(store), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot write Ray Tune's storage directory at " in err and "IRLBENCH_RAY_STORAGE" in err
    assert len(err.strip().splitlines()) == 1 and not store.exists()  # one line; no records file, no run.lock
