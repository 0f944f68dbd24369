"""Search spaces in suite files (grid and random, through Ray Tune's variant generator) and the
three LfL ablation suites."""

import io
import subprocess
import sys
from contextlib import redirect_stdout

import pytest

from benchmark import config
from benchmark.cli import main
from benchmark.config import ConfigError, Suite, expand, load_suite, search_settings, trial_id, with_point
from benchmark.store import ResultsStore

ABLATIONS = ("ablation-lfl-alpha-model", "ablation-lfl-k", "ablation-lfl-trajectory-length")
LFL_DEFAULTS = {"task": {"name": "lfl-gridworld"}, "method": {"name": "lfl"}}


def searched_suite(search: dict, *, samples: int = 1, search_seed: int = 0) -> Suite:
    return Suite(name="sweep", description="", seeds=1, layout="ablation", defaults=LFL_DEFAULTS,
                 cells=({"learner": {"name": "spi", "k": 3}}, {"learner": {"name": "svi", "k": 5}}),
                 **search_settings({"search": search, "samples": samples, "search_seed": search_seed}))


def test_a_grid_gives_every_value_to_every_cell_and_seed():
    suite = load_suite("ablation-lfl-alpha-model")
    configs = expand(suite, seeds=2, profile="smoke")
    grid = [0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0]
    assert len(configs) == 4 * len(grid) * 2 and len({trial_id(c) for c in configs}) == len(configs)
    # cells x points x seeds, the grid in its file order
    assert [c["method"]["alpha_model"] for c in configs[:2 * len(grid):2]] == grid
    assert {c["task"]["alpha"] for c in configs} == {0.3}  # the learners' alpha stays put
    assert {c["label"] for c in configs} == {f"alpha_model={v:g}" for v in grid}


def test_a_random_search_is_the_same_every_time_and_inside_its_bounds():
    search = {"protocol.pairs_per_batch": {"lograndint": [100, 10000]}, "method.alpha_model": {"uniform": [0.2, 2.0]}}
    configs = expand(searched_suite(search, samples=6), seeds=2, profile="smoke")
    assert configs == expand(searched_suite(search, samples=6), seeds=2, profile="smoke")
    other_seed = expand(searched_suite(search, samples=6, search_seed=1), seeds=2, profile="smoke")
    assert [c["method"]["alpha_model"] for c in other_seed] != [c["method"]["alpha_model"] for c in configs]
    assert len(configs) == 2 * 6 * 2 and len({trial_id(c) for c in configs}) == len(configs)
    assert all(100 <= c["protocol"]["pairs_per_batch"] < 10000 for c in configs)
    assert all(0.2 <= c["method"]["alpha_model"] <= 2.0 for c in configs)
    assert all(c["label"].startswith("pairs_per_batch=") and ", alpha_model=" in c["label"] for c in configs)


def test_samples_draw_the_random_keys_afresh_for_every_grid_point():
    suite = searched_suite({"learner.k": {"grid": [2, 4]}, "method.alpha_model": {"loguniform": [0.1, 2.0]}},
                           samples=3)
    points = [(c["learner"]["k"], c["method"]["alpha_model"]) for c in expand(suite, seeds=1, profile="smoke")
              if c["learner"]["name"] == "spi"]
    assert sorted(k for k, _ in points) == [2, 2, 2, 4, 4, 4]
    assert len({alpha for _, alpha in points}) == 6


def test_the_shipped_random_search_draws_its_committed_points():
    # The committed results' trial ids depend on these draws: a Ray upgrade that changes them shows here.
    configs = expand(load_suite("ablation-lfl-trajectory-length"), seeds=1, profile="quick")
    assert [c["protocol"]["pairs_per_batch"] for c in configs[:8]] == [1878, 346, 120, 107, 4231, 6691, 1634, 2877]


def test_a_point_is_named_after_the_cell_label_and_wins_over_the_cell():
    cell = {"label": "theorem2", "method": {"name": "lfl", "alpha_model": 0.7}}
    merged = with_point(cell, {"method.alpha_model": 0.5, "learner.k": 3})
    assert merged["label"] == "theorem2, alpha_model=0.5, k=3"
    assert merged["method"] == {"name": "lfl", "alpha_model": 0.5} and merged["learner"] == {"k": 3}
    assert with_point(cell, {}) is cell


def test_suites_without_a_search_are_unchanged_and_do_not_import_ray():
    suite = load_suite("lfl-table2")
    assert suite.search == {} and suite.search_size == 1
    assert {c["label"] for c in expand(suite, seeds=1, profile="quick")} == {""}
    code = ("import sys; from benchmark.config import expand, load_suite; "
            "expand(load_suite('lfl-table2'), seeds=1, profile='quick'); print('ray' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


@pytest.mark.parametrize("search, samples, message", [
    ({"method.alpha_model": [0.1, 0.2]}, 1, "expected one of { grid = [values] }, { choice = [values] }"),
    ({"method.alpha_model": {"normal": [0, 1]}}, 1, "expected one of { grid = [values] }"),
    ({"method.alpha_model": {"grid": [0.1], "uniform": [0, 1]}}, 1, "expected one of { grid"),
    ({"method.alpha_model": {"grid": []}}, 1, "grid takes a non-empty list of values; valid specs: { grid"),
    ({"method.alpha_model": {"uniform": [0.1, 0.5, 1]}}, 1, "uniform takes [lo, hi], two numbers; valid specs:"),
    ({"method.alpha_model": {"uniform": [1.0, 0.1]}}, 1, "uniform needs lo < hi; valid specs:"),
    ({"method.alpha_model": {"loguniform": [0, 1]}}, 1, "loguniform needs lo > 0; valid specs:"),
    ({"learner.k": {"randint": [1.5, 10]}}, 1, "randint takes [lo, hi], two integers; valid specs:"),
    ({"alpha_model": {"grid": [0.1]}}, 1, "search key 'alpha_model': expected section.key with section one of task"),
    ({"model.alpha_model": {"grid": [0.1]}}, 1, "search key 'model.alpha_model'"),
    ({"method.alpha_model": {"grid": [0.1, 0.2]}}, 4, "samples > 1 needs a random search spec"),
    ({}, 0, "samples must be an integer of at least 1"),
])
def test_a_bad_search_is_a_config_error_naming_what_is_valid(search, samples, message):
    with pytest.raises(ConfigError) as error:
        searched_suite(search, samples=samples)
    assert message in str(error.value)


def test_both_toml_spellings_of_a_search_key_are_one_search():
    nested = search_settings({"search": {"method": {"alpha_model": {"grid": [0.1]}}}})
    dotted = search_settings({"search": {"method.alpha_model": {"grid": [0.1]}}})
    assert nested == dotted == {"search": {"method.alpha_model": {"grid": [0.1]}}, "samples": 1, "search_seed": 0}


@pytest.mark.parametrize("suite_text, argv, message", [
    ('[search]\nmethod.alpha_model = { gird = [0.1, 0.3] }\n', [], "expected one of { grid = [values] }"),
    ('[search]\nmethod.alpha_model = { grid = [0.1, 0.3] }\n', ["--set", "method.alpha_model=0.3"],
     "--set method.alpha_model: the suite 'bad' sweeps this key"),
    ('[search]\nmethod.alpha_model = { grid = ["high"] }\n', [], "malformed value for method.alpha_model"),
])
def test_cli_rejects_a_bad_search_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys, suite_text,
                                                                   argv, message):
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "bad.toml").write_text('[defaults]\ntask = { name = "lfl-gridworld" }\nmethod = { name = "lfl" }\n'
                                     'learner = { name = "spi" }\n' + suite_text)
    monkeypatch.setattr(config, "SUITES_DIR", suites)
    store = tmp_path / "store"
    code = main(["run", "bad", "--backend", "serial", "--store", str(store), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("irlbench: error:") and message in err and len(err.splitlines()) == 1
    assert not store.exists()


@pytest.mark.parametrize("suite, swept, points", [
    ("ablation-lfl-alpha-model", "method.alpha_model", 8),
    ("ablation-lfl-k", "learner.k", 5),
    ("ablation-lfl-trajectory-length", "protocol.pairs_per_batch", 8),
])
def test_the_ablation_suites_run_at_the_smoke_profile_and_report_their_sweep(tmp_path, capsys, suite, swept, points):
    store = str(tmp_path / "store")
    assert main(["run", suite, "--profile", "smoke", "--seeds", "1", "--backend", "serial", "--store", store,
                 "--no-progress"]) == 0
    records = ResultsStore(store).records()
    assert len(records) == len(load_suite(suite).cells) * points
    assert all(r["status"] == "ok" for r in records)
    capsys.readouterr()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["report", "--store", store, "--suite", suite]) == 0
    text = out.getvalue()
    assert f"Swept: {swept}." in text and f"| {swept} |" in text
    assert text.count("\n| ") == 2 * (points + 2)  # two tables: header, rule and one row per swept value
