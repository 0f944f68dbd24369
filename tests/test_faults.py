"""Nothing lost, nothing silent: the store, the dataset cache and the run loop under faults and bad
input (a full disk, an unwritable or busy store, lines that are not records, corrupt cache files,
values that look like the fast reader's cut)."""

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from benchmark import store as store_module
from benchmark.config import expand, load_suite
from benchmark.pipeline import observe_learner, section_config
from benchmark.store import ResultsStore, artifact_matrix, artifact_values, has_artifact
from benchmark.synthetic import leaderboard_records
from envs.datasets import Batch, cache_key
from envs.registry import build_task
from tests.test_cli import run

# What the fixes added (StoreError, StoreWarning, CacheWarning, ...) is imported inside the tests
# that use it, so that on the code before the fixes each test fails on its own account.


def lines_of(store: ResultsStore) -> list[dict]:
    """Every line of the file, parsed by the json module: the reference reader."""
    return [json.loads(line) for line in store.path.read_text().splitlines()]


def mount_tmpfs(path, size: str, *options: str) -> None:
    """A real small (or read-only) file system at `path`; the test is skipped where it cannot be mounted."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """A 16 KB tmpfs: room for about four records."""
    path = tmp_path / "disk"
    mount_tmpfs(path, "16k")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ----- 1. a full disk ----------------------------------------------------------------------------

def test_a_full_disk_stops_the_run_with_exit_3_and_a_retry_completes_it(small_disk, capsys):
    store = str(small_disk / "store")
    code, _ = run("run", "lfl-table2", "--seeds", "2", "--store", store, "--no-progress")
    err = capsys.readouterr().err
    assert code == 3 and "No space left on device" in err and "Traceback" not in err
    text = (small_disk / "store" / "records.jsonl").read_bytes()
    written = len(lines_of(ResultsStore(store)))
    assert text.endswith(b"\n") and 0 < written < 8  # complete records only
    assert f"{written} record(s) of it are in the store" in err
    subprocess.run(["mount", "-o", "remount,size=1m", str(small_disk)], check=True)
    code, _ = run("run", "lfl-table2", "--seeds", "2", "--store", store, "--no-progress")
    assert code == 0 and f"{written} already finished, {8 - written} to run" in capsys.readouterr().err
    ids = [r["trial_id"] for r in lines_of(ResultsStore(store))]
    assert len(ids) == 8 and len(set(ids)) == 8


def test_a_disk_full_before_the_run_is_one_line_and_exit_2(small_disk, capsys):
    store = small_disk / "store"
    store.mkdir()
    (store / "records.jsonl").write_bytes(b"")
    with open(small_disk / "filler", "wb", buffering=0) as filler:  # fill the disk to the last byte
        try:
            while filler.write(b"x" * 512):
                pass
        except OSError:
            pass
    code, _ = run("run", "lfl-table1", "--store", str(store), "--no-progress")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "No space left on device" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("fault", ["short write, then ENOSPC", "fsync fails"])
def test_a_failed_append_leaves_the_store_as_it_was(tmp_path, monkeypatch, fault):
    from benchmark.store import StoreError

    store = ResultsStore(tmp_path)
    records = leaderboard_records(2, methods=("lfl",))
    store.append(records[:3])
    before = store.path.read_bytes()
    real_write = os.write

    def short_write(fd, data):  # half the bytes reach the disk, then the disk is full
        if len(data) > 1:
            return real_write(fd, bytes(data[:len(data) // 2]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    if fault == "fsync fails":
        monkeypatch.setattr(store_module.os, "fsync", failing_fsync)
    else:
        monkeypatch.setattr(store_module.os, "write", short_write)
    with pytest.raises(StoreError, match="could not append"):
        store.append(records[3:5])
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    store.append(records[3:5])
    assert [r["trial_id"] for r in store.records()] == [r["trial_id"] for r in records[:5]]


# ----- 3. the store is checked before anything runs -------------------------------------------------

def unwritable_store(kind: str, tmp_path) -> str:
    if kind == "a file":
        (tmp_path / "file").write_text("x")
        return str(tmp_path / "file")
    if kind == "a read-only file system":
        mount_tmpfs(tmp_path / "ro", "16k", "ro")
        return str(tmp_path / "ro" / "store")
    return "/proc/x"


@pytest.mark.parametrize("kind", ["a file", "/proc/x", "a read-only file system"])
def test_an_unwritable_store_is_one_line_and_exit_2_before_any_trial(tmp_path, monkeypatch, capsys, kind):
    store = unwritable_store(kind, tmp_path)
    ran = []
    monkeypatch.setattr("benchmark.backends.run_trial_limited", lambda config, **_: ran.append(config))
    try:
        code, _ = run("run", "lfl-table1", "--store", store, "--no-progress")
    finally:
        subprocess.run(["umount", "-l", str(tmp_path / "ro")], capture_output=True)
    err = capsys.readouterr().err.strip()
    assert code == 2 and not ran
    assert err.startswith("irlbench: error: ") and len(err.splitlines()) == 1 and store in err


# ----- 4. lines that are not records ---------------------------------------------------------------

ODD_LINES = [b"[1, 2]", b"null", b'{"trial_id": ["a"]}', b'{"trial_id": "x", "metrics": [1, 2]}',
             b"garbage }{", b"", b'{"trial_id": "y", "status": "ok"}']


def store_with_odd_lines(tmp_path) -> tuple[ResultsStore, list[dict]]:
    store = ResultsStore(tmp_path / "store")
    records = leaderboard_records(2, methods=("lfl",))[:4]
    store.append(records)
    lines = store.path.read_bytes().splitlines(keepends=True)
    missing_seed = {k: v for k, v in records[0].items() if k != "seed"}
    damaged = lines[0].replace(b"], \"observer_curve\"", b"]x, \"observer_curve\"", 1).rstrip(b"\n")  # not JSON
    odd = [*ODD_LINES, json.dumps(missing_seed, sort_keys=True).encode(), damaged]
    store.path.write_bytes(lines[0] + b"\n".join(odd) + b"\n" + b"".join(lines[1:]))
    return store, records


def test_lines_that_are_not_records_are_skipped_with_one_warning_each_read(tmp_path):
    from benchmark.store import StoreWarning

    store, records = store_with_odd_lines(tmp_path)
    ids = [r["trial_id"] for r in records]
    reads = {"records": lambda: [r["trial_id"] for r in store.records()],
             "records without artifacts": lambda: [r["trial_id"] for r in store.records(artifacts=False)],
             "finished ids": lambda: sorted(store.finished_ids())}
    reads.update({f"frame in {n} part(s)": (lambda n=n: store.frame(artifacts=True, workers=n).trial_id.tolist())
                  for n in (1, 2, 3)})
    for name, read in reads.items():
        store._warned.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert read() == (sorted(ids) if name == "finished ids" else ids), name
        assert len(caught) == 1 and caught[0].category is StoreWarning, name
        assert f"skipped {len(ODD_LINES) + 2} line(s)" in str(caught[0].message), name
        assert "line 2: a JSON list, not an object" in str(caught[0].message), name
    frame = store.frame()
    assert frame.seed.dtype == np.int64 and frame.seed.tolist() == [r["seed"] for r in records]


def test_run_export_and_report_read_a_store_with_odd_lines(tmp_path, capsys):
    store, records = store_with_odd_lines(tmp_path)
    code, csv = run("export", "--store", str(store.directory))
    assert code == 0
    frame = pd.read_csv(io.StringIO(csv))
    assert len(frame) == 4 and frame.seed.dtype == np.int64 and not frame.isna().all(axis=1).any()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("irlbench: warning: ") and "skipped 9 line(s)" in err[0]
    code, text = run("report", "--store", str(store.directory))
    assert code == 0 and "lfl" in text
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    code, _ = run("run", "lfl-table1", "--store", str(store.directory), "--no-progress")
    assert code == 0 and "skipped 9 line(s)" in capsys.readouterr().err


def test_non_finite_numbers_are_written_as_null(tmp_path):
    store = ResultsStore(tmp_path)
    record = leaderboard_records(1, methods=("lfl",))[0]
    record["metrics"].update(normalized_score=float("nan"), epic_distance=float("inf"))
    record["artifacts"]["learner_curve"] = [1.0, float("-inf"), 2.0]
    store.append([record])
    text = store.path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["metrics"]["normalized_score"] is None
    frame = store.frame(artifacts=True)
    assert np.isnan(frame.normalized_score[0]) and np.isnan(frame.epic_distance[0])
    assert np.array_equal(artifact_matrix(frame.artifacts, "learner_curve"), [[1.0, np.nan, 2.0]], equal_nan=True)


def test_the_writer_refuses_what_is_not_a_record(tmp_path):
    store = ResultsStore(tmp_path)
    record = leaderboard_records(1, methods=("lfl",))[0]
    for bad in ({**record, "seed": "0"}, {**record, "status": "done"}, {**record, "extra": 1},
                {k: v for k, v in record.items() if k != "config"}):
        with pytest.raises(ValueError, match="not a trial record"):
            store.append([record, bad])
    assert not store.path.exists()  # all or nothing


# ----- 5. the dataset cache ------------------------------------------------------------------------

def datasets(cache_dir):
    """SPI's and SVI's datasets of lfl-table2 (seed 0), and their cache files."""
    configs = expand(load_suite("lfl-table2"), seeds=1, profile="smoke")[:2]
    task = build_task(section_config(configs[0], "task"))
    loaded = [observe_learner(config, task, cache_dir) for config in configs]
    files = [cache_dir / f"{cache_key({k: c[k] for k in ('task', 'learner', 'protocol', 'seed', 'profile')})}.npz"
             for c in configs]
    assert all(f.exists() for f in files)
    return configs, task, loaded, files


def same_dataset(a, b) -> bool:
    return len(a.batches) == len(b.batches) and all(
        np.array_equal(getattr(x, f), getattr(y, f)) for x, y in zip(a.batches, b.batches) for f in Batch.__dataclass_fields__)


@pytest.mark.parametrize("damage", ["truncated", "one bit flipped", "another dataset's file", "not a zip file"])
def test_a_damaged_cache_file_is_made_again_with_a_warning_naming_it(tmp_path, damage):
    from envs.datasets import CacheWarning

    configs, task, loaded, files = datasets(tmp_path)
    spi_file, svi_file = files
    data = spi_file.read_bytes()
    if damage == "truncated":
        spi_file.write_bytes(data[:len(data) // 2])
    elif damage == "one bit flipped":
        spi_file.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1:])
    elif damage == "another dataset's file":
        shutil.copy(svi_file, spi_file)
    else:
        spi_file.write_text("not a zip file")
    with pytest.warns(CacheWarning, match=str(spi_file)):
        dataset, reference = observe_learner(configs[0], task, tmp_path)
    assert same_dataset(dataset, loaded[0][0]) and np.array_equal(reference.learner, loaded[0][1].learner)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # made again: the next load is silent
        assert same_dataset(observe_learner(configs[0], task, tmp_path)[0], loaded[0][0])


def test_a_run_over_a_damaged_cache_succeeds_and_says_so_once(tmp_path, capsys):
    cache = tmp_path / "cache" / "datasets"  # conftest's IRLBENCH_CACHE
    _, _, _, files = datasets(cache)
    files[0].write_bytes(files[0].read_bytes()[:100])
    # three methods on SPI's dataset: every trial finds the damage, the warning is shown once
    store = str(tmp_path / "store")
    code, _ = run("run", "lfl-table2", "--seeds", "1", "--profile", "smoke", "--store", store, "--no-progress")
    err = capsys.readouterr().err
    assert code == 0 and err.count(f"irlbench: warning: dataset cache file {files[0]}") == 1
    assert all(r["status"] == "ok" for r in ResultsStore(store).records())


# ----- 7. one run at a time --------------------------------------------------------------------------

def test_a_second_run_on_a_held_store_exits_2_naming_the_holder(tmp_path, capsys):
    from benchmark.store import StoreBusy

    store = ResultsStore(tmp_path / "store")
    with store.exclusive("irlbench run lfl-table1"):
        code, _ = run("run", "lfl-table1", "--store", str(store.directory), "--no-progress")
        err = capsys.readouterr().err.strip()
        assert code == 2 and f"pid {os.getpid()}" in err and "irlbench run lfl-table1" in err
        assert len(err.splitlines()) == 1 and store.path.read_bytes() == b""
        with pytest.raises(StoreBusy):
            with ResultsStore(store.directory).exclusive("another"):
                pass
    assert run("run", "lfl-table1", "--store", str(store.directory), "--no-progress")[0] == 0


def test_a_forked_child_does_not_keep_the_store_locked(tmp_path):
    store = ResultsStore(tmp_path)
    with store.exclusive("parent"):
        started, ready = os.pipe()
        child = os.fork()
        if child == 0:  # a time-limited trial's process outliving its driver
            os.write(ready, b"x")  # the fork hooks have run
            import time
            time.sleep(3)
            os._exit(0)
        os.read(started, 1)
    try:
        with store.exclusive("next run"):  # the parent let go; the living child holds nothing
            pass
    finally:
        os.waitpid(child, 0)


# ----- 9. the fast reader is exact for every record ----------------------------------------------------

TRICKY_TEXTS = ['}, "config": ', '], "reward": [', '{"created_at": 1}', "[1, 2]", '"quoted"', "back\\slash", "]]]",
                "{{", "ünïcode ✓", ', "artifacts": {']


def tricky_record(rng: np.random.Generator, base: dict) -> dict:
    """A record whose artifacts and config hold strings with brackets, braces and the cut's own
    patterns, nested objects with the same keys, and flat lists of strings or numbers."""
    text = lambda: "".join(rng.choice(TRICKY_TEXTS, size=rng.integers(1, 4)))
    artifacts = {"learner_curve": rng.normal(size=rng.integers(1, 6)).round(3).tolist(),
                 "reward": rng.normal(size=(2, 2)).round(3).tolist()}
    kind = rng.integers(6)
    if kind == 5:
        artifacts["naïve ✓"] = [1.0]  # keys the writer escapes
        artifacts['say "cheese"'] = text()
    elif kind == 0:
        artifacts["paths"] = [text(), text()]  # a flat list of strings holding ']'
    elif kind == 1:
        artifacts["meta"] = {"reward": text(), "config": [text()], "learner_curve": [9.0]}  # nested look-alike keys
    elif kind == 2:
        artifacts["name"] = text()
    elif kind == 3:
        artifacts["a_curve_of_names"] = [text()]
        artifacts["learner_curve"] = [text()]  # not numbers
    config = {**base["config"], "label": text(), "task": {**base["config"]["task"], "note": {"created_at": text()}}}
    return {**base, "label": text(), "config": config, "artifacts": artifacts}


def test_the_fast_reader_equals_the_json_module_on_tricky_records(tmp_path):
    from benchmark.store import StoreWarning

    rng = np.random.default_rng(0)
    bases = leaderboard_records(6, methods=("lfl", "gail"))
    records = [tricky_record(rng, base) for base in bases]
    store = ResultsStore(tmp_path)
    store.append(records)
    # a hand-written line with a field sorted between "artifacts" and "config" is not a record,
    # and must not be cut as if it were one
    smuggled = {**records[0], "trial_id": "smuggled", "budget": {"steps": 1}}
    with open(store.path, "a") as handle:
        handle.write(json.dumps(smuggled, sort_keys=True) + "\n")
    reference = lines_of(store)[:-1]
    with pytest.warns(StoreWarning, match="unknown field 'budget'"):
        assert store.records() == reference
    store._warned.clear()
    with pytest.warns(StoreWarning):
        lean = store.records(artifacts=False)
    assert lean == [{k: v for k, v in r.items() if k != "artifacts"} for r in reference]
    for workers in (1, 3):
        store._warned.clear()
        with pytest.warns(StoreWarning):
            frame = store.frame(artifacts=True, workers=workers)
        assert [json.loads(c) for c in frame.config] == [r["config"] for r in reference]
        assert [json.loads(a) for a in frame.artifacts] == [r["artifacts"] for r in reference]
        assert frame.label.tolist() == [r["label"] for r in reference]
        for key in ("learner_curve", "reward", "paths", "meta", "name", "config", "naïve ✓", 'say "cheese"'):
            expected = [r["artifacts"].get(key) for r in reference]
            assert artifact_values(frame.artifacts, key) == expected, key
            assert has_artifact(frame.artifacts, key) == [v is not None for v in expected], key
    numeric = [r for r in reference if all(isinstance(v, float) for v in r["artifacts"]["learner_curve"])]
    texts = [json.dumps(r["artifacts"], sort_keys=True).encode() for r in numeric]
    matrix = artifact_matrix(texts, "learner_curve")
    for row, r in zip(matrix, numeric):
        curve = r["artifacts"]["learner_curve"]
        assert row[:len(curve)].tolist() == curve and np.isnan(row[len(curve):]).all()
    with pytest.raises(ValueError, match="not a flat list of numbers"):
        artifact_matrix(frame.artifacts, "learner_curve")


# ----- 8. suite files from any path never take a packaged suite's name -------------------------------

USER_SUITE = '{name}seeds = 1\n[defaults]\ntask = {{ name = "lfl-gridworld" }}\nmethod = {{ name = "lfl" }}\n' \
             '[[cells]]\nlearner = {{ name = "spi", k = 3 }}\n'


@pytest.mark.parametrize("name_line, file_name, given", [
    ('name = "lfl-table2"\n', "mine.toml", "mine.toml"), ("", "lfl-table2.toml", "lfl-table2.toml"),
    ('name = "lfl-table2"\n', "other.toml", "other"),  # by its path less .toml, as /some/other
])
def test_a_suite_file_named_like_a_packaged_suite_is_refused(tmp_path, capsys, name_line, file_name, given):
    (tmp_path / file_name).write_text(USER_SUITE.format(name=name_line))
    code, _ = run("run", str(tmp_path / given), "--store", str(tmp_path / "store"), "--no-progress")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "like a packaged suite" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "store").exists()


def test_a_suite_file_runs_by_path_under_its_own_name_and_reports(tmp_path, capsys):
    path = tmp_path / "my-sweep.toml"
    path.write_text(USER_SUITE.format(name=""))
    store = str(tmp_path / "store")
    assert run("run", str(path), "--store", store, "--no-progress")[0] == 0
    assert {r["suite"] for r in ResultsStore(store).records()} == {"my-sweep"}
    code, text = run("report", "--store", store, "--suite", "my-sweep")
    assert code == 0 and "my-sweep" in text
    code, _ = run("run", str(tmp_path / "missing.toml"), "--store", store)
    assert code == 2 and "no suite file at" in capsys.readouterr().err


# ----- 10. smaller ones ------------------------------------------------------------------------------

def test_naming_another_method_drops_the_suites_keys_it_does_not_have(tmp_path, capsys):
    """The README's `irlbench run lfl-table2 --set method.name=maxent` (lfl-table2 sets alpha_model)."""
    store = str(tmp_path / "store")
    code, _ = run("run", "lfl-table2", "--seeds", "1", "--set", "method.name=maxent", "--store", store, "--no-progress")
    assert code == 0
    records = ResultsStore(store).records()
    assert len(records) == 4 and {r["method"] for r in records} == {"maxent"}
    assert all(r["config"]["protocol"]["pairs_per_batch"] == 1000 for r in records)  # other sections untouched
    # an explicit --set key of the old method is still an error; a swept key the new method lacks too
    assert run("run", "lfl-table2", "--set", "method.name=maxent", "--set", "method.alpha_model=0.3",
               "--store", store)[0] == 2
    assert run("run", "ablation-lfl-alpha-model", "--set", "method.name=maxent", "--store", store)[0] == 2
    assert "sweeps method.alpha_model" in capsys.readouterr().err


def test_the_last_of_repeated_name_overrides_decides(tmp_path):
    configs = expand(load_suite("ablation-lfl-alpha-model"), seeds=1, profile="quick",
                     overrides=[("method.name", "maxent"), ("method.name", "lfl")])
    assert sorted({c["method"]["alpha_model"] for c in configs}) == [0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0]
    board = expand(load_suite("gridworld"), seeds=1, profile="quick",
                   overrides=[("method.name", "gail"), ("method.name", "lfl")])
    assert [c["learner"]["name"] for c in board] == ["spi", "svi", "q_learning", "random_improvements", "gpomdp",
                                                     "expert"]  # the cells made identical run once, in order
    assert {c["method"]["name"] for c in board} == {"lfl"}


@pytest.mark.parametrize("setting, message", [("learner.k=100000000000000000000", "learner.k = 100000000000000000000 is too large"),
                                              ("method.name=[1]", "malformed value for method.name")])
def test_values_no_config_can_hold_are_bad_input(tmp_path, capsys, setting, message):
    code, _ = run("run", "lfl-table1", "--set", setting, "--store", str(tmp_path / "store"))
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1


def test_keys_that_two_methods_share_survive_a_method_override():
    from benchmark.config import resolve

    cell = {"task": {"name": "lfl-gridworld"}, "learner": {"name": "expert"},
            "method": {"name": "gail", "demo_batches": 2, "n_envs": 8}}
    config = resolve(cell, suite="s", seed=0, profile="smoke", overrides=[("method.name", "iq_learn")])
    assert config["method"]["name"] == "iq_learn" and config["method"]["demo_batches"] == 2


def test_a_markdown_header_holding_a_bar_is_escaped():
    from benchmark.tables import Cell, Table, markdown_grid

    table = Table(name="t", title="t", columns=("learner | K", "score"), rows=((Cell(text="a|b"), Cell(text="1")),))
    header, rule, row = markdown_grid(table).splitlines()
    assert header == "| learner \\| K | score |" and row == "| a\\|b | 1 |"
    assert header.count(" | ") == rule.count(" | ") == row.count(" | ")


def test_expanding_many_seeds_takes_seconds_and_ctrl_c_there_is_a_clean_exit(tmp_path):
    import sys
    import time

    # started as from a terminal: an ignored SIGINT would be inherited across exec (whatever this
    # process's disposition is after the tests before), and the driver could not be interrupted before
    # it installs its own handler
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        driver = subprocess.Popen([sys.executable, "-m", "benchmark.cli", "run", "lfl-table2", "--seeds", "200000",
                                   "--store", str(tmp_path / "store"), "--backend", "serial"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, ignored)
    # Ctrl-C while the configs are expanded: once Python catches SIGINT and the 800,000 configs fill
    # memory (the imports alone stay near 100 MB; expanding ends near 550 MB, after a few seconds)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (catches_sigint(driver.pid) and resident_mb(driver.pid) >= 300):
        time.sleep(0.02)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=60)
    assert (driver.returncode, err.splitlines()[-1:]) == (130, ["irlbench: interrupted"]), err[-2000:]
    assert "Traceback" not in err


def proc_status(pid: int, field: str, program: bytes = b"benchmark.cli") -> str:
    """A field of /proc/PID/status once `pid` runs `program` ("" before, or when it is gone): between
    fork and exec a child shows its parent's memory and handlers, and a signal sent then is lost."""
    try:
        if program not in open(f"/proc/{pid}/cmdline", "rb").read():
            return ""
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return ""
    return next((line.split()[1] for line in status.splitlines() if line.startswith(field + ":")), "")


def catches_sigint(pid: int) -> bool:
    """Whether the driver `pid` has a handler for SIGINT installed (its SigCgt mask)."""
    return bool(int(proc_status(pid, "SigCgt") or "0", 16) >> (signal.SIGINT - 1) & 1)


def resident_mb(pid: int) -> float:
    """The driver's resident memory (0 before it runs)."""
    return int(proc_status(pid, "VmRSS") or "0") / 1024
