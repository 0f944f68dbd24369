"""The report: tables in every format, the paper layouts, the figures and the report command."""

import io
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from benchmark import figures, stats
from benchmark.cli import main
from benchmark.report import ReportOptions, layout_leaderboard, layout_lfl_table3, sections, values_of
from benchmark.store import ResultsStore
from benchmark.synthetic import leaderboard_records, synthetic_record
from benchmark.tables import Cell, Section, Table, csv_text, latex, markdown, text

FAST = ReportOptions(bootstrap_reps=200, figures=False)


def frame(records, tmp_path, artifacts=False) -> pd.DataFrame:
    store = ResultsStore(tmp_path / "store")
    store.append(records)
    return store.frame(artifacts=artifacts)


def sample_section() -> Section:
    table = Table("t", "Scores of a_b & co (50%)", ("method", "spi", "expert"),
                  ((text("lfl"), Cell(0.97, spread=0.01, n=10, best=True), Cell(0.5, lower=0.4, upper=0.6, n=3)),
                   (text("max_ent"), Cell(float("nan")), text("n/a [1]"))),
                  notes=("[1] n/a: no # policy",))
    return Section("gridworld", "quick", "gridworld", (table,))


def test_markdown_marks_the_best_cell_and_keeps_one_cell_per_column():
    out = markdown([sample_section()])
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert all(line.count(" | ") == 2 for line in rows)  # 3 columns in every row
    assert "**0.97 ± 0.01 (10)**" in out and "0.50 [0.40, 0.60] (3)" in out and "| n/a |" in out


def test_csv_is_long_format_with_numbers_in_their_own_columns():
    frame_ = pd.read_csv(io.StringIO(csv_text([sample_section()])))
    assert len(frame_) == 4  # 2 rows x 2 value columns
    best = frame_[frame_.best]
    assert len(best) == 1 and best.point.iloc[0] == 0.97 and best.spread.iloc[0] == 0.01 and best.n.iloc[0] == 10
    interval = frame_[(frame_.row == "lfl") & (frame_.column == "expert")].iloc[0]
    assert (interval.lower, interval.upper) == (0.4, 0.6)


def latex_structure_errors(document: str) -> list[str]:
    """Structural checks of the generated LaTeX: balanced environments and braces, every tabular
    row with as many cells as its column spec, booktabs rules in order, specials escaped."""
    errors, stack = [], []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+)\}", document):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            errors.append(f"unbalanced \\end{{{env}}}")
    errors += [f"unclosed {env}" for env in stack]
    unescaped = re.sub(r"\\.", "", document)
    if unescaped.count("{") != unescaped.count("}"):
        errors.append("unbalanced braces")
    for spec, body in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", document, re.S):
        rules = re.findall(r"\\(toprule|midrule|bottomrule)", body)  # a further midrule sets a row group apart
        if rules[:2] != ["toprule", "midrule"] or rules[-1:] != ["bottomrule"] or set(rules[2:-1]) - {"midrule"}:
            errors.append("booktabs rules out of order")
        for line in body.split("\\\\")[:-1]:
            cells = re.sub(r"\\&", "", line).count("&") + 1
            if line.strip().replace("\\toprule", "").replace("\\midrule", "").strip() and cells != len(spec):
                errors.append(f"row with {cells} cells for {len(spec)} columns: {line.strip()[:60]}")
    content = document.split(r"\begin{document}", 1)[-1]
    if re.search(r"(?<!\\)[%#_]", content):
        errors.append("unescaped special character")
    return errors


def test_latex_is_well_formed_booktabs(tmp_path):
    document = latex([sample_section()])
    assert latex_structure_errors(document) == []
    assert r"a\_b \& co (50\%)" in document and r"\textbf{$0.97 \pm 0.01$}" in document
    # the checker itself catches the bugs it is there for
    assert latex_structure_errors(document.replace(r"max\_ent", "max_ent")) == ["unescaped special character"]
    assert latex_structure_errors(document.replace(r"max\_ent", r"max\_ent & x"))[0].startswith("row with 4 cells")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (.ci/run installs TeX Live)")
def test_latex_report_compiles_with_pdflatex(tmp_path):
    df = frame(leaderboard_records(3), tmp_path)
    document = latex(sections(df, {"gridworld": "leaderboard"}, FAST))
    (tmp_path / "report.tex").write_text(document)
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "report.pdf").read_bytes()[:4] == b"%PDF"


def test_leaderboard_cells_aggregate_and_best_marks_follow_the_records(tmp_path):
    df = frame(leaderboard_records(6, methods=("lfl", "maxent", "gail")), tmp_path)
    ok = df[df.status == "ok"]
    table = layout_leaderboard(df, FAST)[0]()  # a table to compute
    assert table.columns[0] == "method" and table.columns[-1] == "aggregate"
    values = ok.assign(value=values_of(ok, "normalized", "protocol"))
    for row in table.rows:
        method = row[0].text
        for column, cell in zip(table.columns[1:-1], row[1:-1]):
            expected = values[(values.method == method) & (values.learner == column)].value
            assert cell.point == pytest.approx(expected.mean()) and cell.n == len(expected)
        scores = values[values.method == method].pivot(index="seed", columns="learner", values="value")
        assert row[-1].point == pytest.approx(stats.mean(scores.to_numpy()))
        assert row[-1].lower <= row[-1].point <= row[-1].upper
    for j in range(1, len(table.columns)):
        points = [row[j].point for row in table.rows]
        assert [row[j].best for row in table.rows] == [p == max(points) for p in points]
    # the protocol convention: 0 = first observed / uniform, 1 = last observed / optimal, per column
    assert table.column_protocols[table.columns.index("expert")] == "expert"
    assert all(config for config in table.row_configs)


def test_iqm_cells_carry_bootstrap_intervals_and_lower_is_better_metrics_mark_the_minimum(tmp_path):
    df = frame(leaderboard_records(8, methods=("lfl", "gail")), tmp_path)
    options = ReportOptions(metric="regret", aggregate="iqm", bootstrap_reps=200, figures=False)
    table = layout_leaderboard(df, options)[0]()
    for j in range(1, len(table.columns)):
        cells = [row[j] for row in table.rows]
        assert all(c.lower <= c.point <= c.upper for c in cells)
        points = [c.point for c in cells]
        assert [c.best for c in cells] == [p == min(points) for p in points]


def test_table3_layout_puts_the_published_numbers_beside_ours(tmp_path):
    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="lfl-mujoco", method="lfl", learner="spi", seed=s, rng=rng, quality=1.4,
                                task="halfcheetah") for s in range(3)]
    table = layout_lfl_table3(frame(records, tmp_path), FAST)[0]
    assert table.columns[:5] == ("env", "airl", "airl (paper, copied)", "dac", "dac (paper, copied)")
    rows = {row[0].text: row for row in table.rows}
    cheetah = dict(zip(table.columns, rows["halfcheetah"]))
    assert cheetah["lfl (paper)"].text == "1.40 ± 0.25" and cheetah["dac (paper, copied)"].text == "1.15"
    assert cheetah["lfl"].n == 3 and cheetah["airl"].text == "not run"
    assert dict(zip(table.columns, rows["hopper"]))["lfl"].text == "not run"


def test_table3_gives_a_labelled_variant_of_a_task_its_own_row_and_fig4_its_own_panel(tmp_path):
    rng = np.random.default_rng(1)
    records = []
    for label, quality in (("", 1.2), ("termination=none", -0.5)):
        for seed in range(3):
            record = synthetic_record(suite="lfl-table3", method="lfl", learner="spi", seed=seed, rng=rng,
                                      quality=quality, task="hopper",
                                      extra_config={"method": {"termination": label[len("termination="):] or "pessimistic"}})
            record["label"] = record["config"]["label"] = label
            records.append(record)
    df = frame(records, tmp_path, artifacts=True)
    rows = {row[0].text: dict(zip(table.columns, row)) for table in [layout_lfl_table3(df, FAST)[0]]
            for row in table.rows}
    assert rows["hopper"]["lfl"].n == 3 and rows["hopper (termination=none)"]["lfl"].n == 3
    assert rows["hopper"]["lfl"].point > 1 > rows["hopper (termination=none)"]["lfl"].point
    assert rows["hopper (termination=none)"]["lfl (paper)"].text == "-0.99 ± 0.78"
    jobs = figures.jobs_for_layout("lfl-table3", df, FAST, "t3")
    (curves,) = [job for job in jobs if job.name.endswith("learning-curves")]
    figure = curves.build()
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["hopper", "hopper (termination=none)"]


def test_sections_never_mix_profiles_and_count_failed_trials(tmp_path):
    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="gridworld", method="lfl", learner="spi", seed=s, rng=rng, quality=1.0,
                                profile=p, status="failed" if s == 2 else "ok") for p in ("smoke", "quick")
               for s in range(3)]
    out = sections(frame(records, tmp_path), {"gridworld": "leaderboard"}, FAST)
    assert [(s.profile, s.title) for s in out] == [("quick", "gridworld (profile quick)"),
                                                   ("smoke", "gridworld (profile smoke)")]
    assert all("1 failed" in s.note for s in out)
    assert all(row[1].n == 2 for s in out for row in s.tables[0].rows)


def test_state_grid_puts_x_right_and_y_up():
    reward = np.arange(6, dtype=float)  # state index x * height + y on a 3 (wide) x 2 (high) grid
    image = figures.state_grid(reward, (3, 2))
    assert image.shape == (2, 3)
    assert image[1, 0] == 0.0  # bottom-left: x = 0, y = 0
    assert image[0, 0] == 1.0  # top-left: x = 0, y = 1
    assert image[1, 2] == 4.0  # bottom-right: x = 2, y = 0


def test_every_figure_type_is_drawn_for_a_leaderboard(tmp_path):
    df = frame(leaderboard_records(4, methods=("lfl", "maxent", "gail")), tmp_path, artifacts=True)
    options = ReportOptions(bootstrap_reps=100)
    drawn = figures.for_layout("leaderboard", df[df.status == "ok"], options, "gridworld-quick")
    kinds = [f.name.removeprefix("gridworld-quick-") for f in drawn]
    assert kinds == ["score-intervals", "improvement", "profiles", "learning-curves", "rewards"]
    for figure in drawn:
        png, pdf = figure.write(tmp_path / "figures")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pdf.read_bytes()[:4] == b"%PDF"


def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    from contextlib import redirect_stderr, redirect_stdout

    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("flag, value", [("--format", "pdf"), ("--format", "md,docx"), ("--metric", "accuracy"),
                                         ("--normalization", "minmax"), ("--aggregate", "median")])
def test_bad_report_options_name_the_valid_choices_and_write_nothing(tmp_path, flag, value):
    ResultsStore(tmp_path / "store").append(leaderboard_records(2, methods=("lfl",)))
    out = tmp_path / "out"
    code, _, err = run_cli("report", "--store", str(tmp_path / "store"), "--out", str(out), flag, value)
    assert code == 2 and "valid:" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_report_writes_every_format_and_the_figures(tmp_path):
    ResultsStore(tmp_path / "store").append(leaderboard_records(3, methods=("lfl", "gail")))
    out = tmp_path / "out"
    code, _, _ = run_cli("report", "--store", str(tmp_path / "store"), "--out", str(out), "--format",
                         "md,tex,csv,html", "--aggregate", "iqm")
    assert code == 0
    assert {p.name for p in out.iterdir()} == {"report.md", "report.tex", "report.csv", "index.html", "figures"}
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert pngs == sorted(p.stem for p in (out / "figures").glob("*.pdf")) and len(pngs) == 5
    assert "](figures/gridworld-quick-score-intervals.png)" in (out / "report.md").read_text()
    assert "data:image/png;base64," in (out / "index.html").read_text()


def test_the_report_command_imports_neither_torch_nor_ray(tmp_path):
    ResultsStore(tmp_path / "store").append(leaderboard_records(2, methods=("lfl",)))
    code = ("import sys; from benchmark.cli import main; main(['report', '--store', sys.argv[1], '--no-figures']); "
            "print(sorted(m for m in ('torch', 'ray', 'methods.registry') if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.strip().splitlines()[-1] == "[]"


def test_ablation_rows_are_swept_values_and_win_counts_belong_to_their_learner(tmp_path):
    rng = np.random.default_rng(0)
    # > 1: beats the learner; the records' learner order (svi, then q_learning) is not the alphabetical one
    quality = {("svi", 2): 0.2, ("svi", 5): 1.3, ("q_learning", 2): 1.5, ("q_learning", 5): 0.5}
    records = [synthetic_record(suite="ablation", method="lfl", learner=learner, seed=s, rng=rng, quality=q,
                                extra_config={"learner": {"k": k}})
               for (learner, k), q in quality.items() for s in range(6)]
    df = frame(records, tmp_path)
    from benchmark.report import layout_ablation

    values, margins = layout_ablation(df[df.status == "ok"], FAST)
    assert values.columns == ("learner.k", "svi", "q_learning") and [r[0].text for r in values.rows] == ["2", "5"]
    for row in values.rows:
        for learner, cell in zip(("svi", "q_learning"), row[1:]):
            expected = quality[(learner, int(row[0].text))]
            assert abs(cell.point - expected) < 0.2
    for note in margins.notes:
        k, counts = note.split(": ")
        for part in counts.split(", "):
            learner, wins = part.split(" ")
            trials = df[(df.learner == learner) & df.config.str.contains(f'"k": {k}')]
            assert wins == f"{int((trials.score > trials.learner_last_score).sum())}/{len(trials)}"


def test_tables_and_figures_computed_in_forked_processes_equal_those_computed_here(tmp_path):
    records = leaderboard_records(4, methods=("lfl", "maxent", "gail"))
    records += [synthetic_record(suite="lfl-table2", method="lfl", learner="spi", seed=s,
                                 rng=np.random.default_rng(s), quality=1.1) for s in range(3)]
    df = frame(records, tmp_path, artifacts=True)
    layouts = {"gridworld": "leaderboard", "lfl-table2": "lfl-table2"}
    options = ReportOptions(bootstrap_reps=100, aggregate="iqm")
    here, forked = sections(df, layouts, options), sections(df, layouts, options, processes=2)
    assert [s.tables for s in here] == [s.tables for s in forked]
    assert [(f.name, f.png, f.pdf) for s in here for f in s.figures] == \
        [(f.name, f.png, f.pdf) for s in forked for f in s.figures]
    assert sum(len(s.figures) for s in here) == 7
    # the leaderboard's aggregate column and the score-interval figure's aggregate panel draw the
    # same resamples: both are aggregate_intervals of the same run matrices
    from benchmark.report import aggregate_intervals

    scores = {"a": np.arange(12.0).reshape(6, 2)}
    assert aggregate_intervals(scores, options) == aggregate_intervals(scores, options)


# ----- what the report takes from the records ---------------------------------------------------

def test_normalization_follows_the_records_source_not_the_learners_name(tmp_path):
    rng = np.random.default_rng(0)
    named_expert = synthetic_record(suite="s", method="lfl", learner="expert", seed=0, rng=rng, quality=0.7)
    named_spi = synthetic_record(suite="s", method="lfl", learner="spi", seed=0, rng=rng, quality=0.7)
    named_expert["source"], named_spi["source"] = "sequence", "expert"
    named_expert["metrics"]["learner_first_score"] = named_expert["metrics"]["random_score"] + 1.0  # a span
    df = frame([named_expert, named_spi], tmp_path)
    m = df.set_index("learner")
    lfl = (m.score - m.learner_first_score) / (m.learner_last_score - m.learner_first_score)
    expert = (m.score - m.random_score) / (m.optimal_score - m.random_score)
    values = values_of(df, "normalized", "protocol").set_axis(df.learner)
    assert values["expert"] == pytest.approx(lfl["expert"]) and values["expert"] != pytest.approx(expert["expert"])
    assert values["spi"] == pytest.approx(expert["spi"]) and values["spi"] != pytest.approx(lfl["spi"])
    table = layout_leaderboard(df, FAST)[0]()
    protocols = dict(zip(table.columns, table.column_protocols))
    assert protocols["expert"] == "sequence" and protocols["spi"] == "expert"


def test_records_without_a_source_take_the_learners_declaration(tmp_path, monkeypatch):
    import types

    from benchmark import report

    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="s", method="lfl", learner=l, seed=0, rng=rng, quality=0.7)
               for l in ("spi", "expert")]
    for record in records:
        del record["source"]
    df = frame(records, tmp_path)
    assert df.source.isna().all() and (df.track == "tabular").all()
    asked = []
    registry = types.ModuleType("envs.registry")
    registry.learner_source = lambda track, learner: asked.append((track, learner)) or "expert"
    monkeypatch.setitem(sys.modules, "envs.registry", registry)
    assert report.sources(df).tolist() == ["expert", "expert"]
    assert asked == [("tabular", "spi"), ("tabular", "expert")]
    # the legacy fallback, without envs.registry: "expert" for the learner named so, else "sequence"
    monkeypatch.setitem(sys.modules, "envs.registry", None)  # importing it raises ImportError
    assert report.sources(df).tolist() == ["sequence", "expert"]
    assert report.declared_source(None, "expert") == "expert" and report.declared_source(None, "q") == "sequence"


def test_learners_are_ordered_as_the_records_first_show_them(tmp_path):
    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="gridworld", method="lfl", learner=l, seed=s, rng=rng, quality=0.8)
               for l in ("gpomdp", "expert", "spi") for s in range(2)]
    table = layout_leaderboard(frame(records, tmp_path), FAST)[0]()
    assert table.columns == ("method", "gpomdp", "expert", "spi", "aggregate")


def reference_records(n_seeds: int = 4) -> list[dict]:
    records = leaderboard_records(n_seeds, methods=("lfl", "gail"), learners=("spi", "expert"))
    rng = np.random.default_rng(1)
    # the oracle scores best everywhere, behavioural cloning worst
    records += [synthetic_record(suite="gridworld", method=m, learner=l, seed=s, rng=rng, quality=q)
                for m, q in (("bc", -1.0), ("oracle", 3.0)) for l in ("spi", "expert") for s in range(n_seeds)]
    return records


def test_reference_rows_follow_the_methods_marked_and_take_no_best_mark(tmp_path):
    df = frame(reference_records(), tmp_path)
    table = layout_leaderboard(df, FAST)[0]()
    assert [row[0].text for row in table.rows] == ["gail", "lfl", "oracle (reference)", "bc (reference)"]
    assert table.row_kinds == ("", "", "reference", "reference")
    for j in range(1, len(table.columns)):
        assert table.rows[2][j].point > max(row[j].point for row in table.rows[:2])  # the oracle is highest...
        assert not table.rows[2][j].best and not table.rows[3][j].best  # ...but not a method to mark
        assert sum(row[j].best for row in table.rows[:2]) >= 1
    assert any("reference rows" in note for note in table.notes)
    generic = sections(df, {}, FAST)[0].tables[0]
    assert [row[0].text for row in generic.rows][-2:] == ["oracle (reference)", "bc (reference)"]
    assert r"\midrule" + "\noracle (reference)" in latex([Section("gridworld", "quick", "g", (table,))])
    assert latex_structure_errors(latex([Section("gridworld", "quick", "g", (table,))])) == []


def test_reference_rows_are_left_out_of_the_method_comparisons(tmp_path):
    df = frame(reference_records(), tmp_path, artifacts=True)
    ok = df.assign(value=values_of(df, "normalized", "protocol"))
    figure = figures.improvement_matrix(ok, ["spi", "expert"])
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["gail", "lfl"]
    no_bc_on_spi = ok.assign(value=ok.value.where(~((ok.method == "bc") & (ok.learner == "spi"))))
    assert figures.common_tasks(no_bc_on_spi, ["spi", "expert"]) == ["spi", "expert"]  # a reference row drops none
    drawn = figures.for_layout("leaderboard", df, ReportOptions(bootstrap_reps=50), "g")
    assert [f.name for f in drawn] == ["g-score-intervals", "g-improvement", "g-profiles", "g-learning-curves",
                                       "g-rewards"]
    panels, _ = figures.heatmap_panels(df[df.learner == "spi"], "method")
    assert [title for title, _ in panels] == ["true reward", "lfl (seed 0)", "gail (seed 0)"]  # no oracle, no bc


def test_heatmaps_draw_the_records_true_reward_and_none_without_it(tmp_path):
    rng = np.random.default_rng(0)
    distinctive = np.arange(12 * 2, dtype=float).reshape(12, 2)  # a 4 (wide) x 3 (high) grid, 2 actions
    records = [synthetic_record(suite="gridworld", method=m, learner="spi", seed=0, rng=rng, quality=0.8)
               for m in ("lfl", "gail")]
    for record in records:
        record["artifacts"].update(true_reward=distinctive.tolist(), grid_shape=[4, 3],
                                   reward=rng.normal(size=(12, 2)).tolist())
    df = frame(records, tmp_path / "with", artifacts=True)
    jobs = figures.jobs_for_layout("leaderboard", df, FAST, "g")
    assert "g-rewards" in [job.name for job in jobs]
    panels, grid_shape = figures.heatmap_panels(df, "method")
    assert grid_shape == (4, 3) and np.array_equal(panels[0][1], distinctive)
    assert figures.state_grid(panels[0][1], grid_shape)[-1, 0] == distinctive[0].mean()
    assert next(job for job in jobs if job.name == "g-rewards").run() is not None
    for record in records:
        del record["artifacts"]["true_reward"], record["artifacts"]["grid_shape"]
    df = frame(records, tmp_path / "without", artifacts=True)
    jobs = figures.jobs_for_layout("leaderboard", df, FAST, "g")
    assert "g-rewards" not in [job.name for job in jobs] and figures.heatmap_panels(df, "method") is None
    for layout in ("lfl-table1", "lfl-table2"):
        assert not [job for job in figures.jobs_for_layout(layout, df, FAST, "g") if job.name == "g-rewards"]


def test_a_board_over_several_task_forms_has_a_column_per_task_form_and_source(tmp_path):
    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="board", method=method, learner=learner, seed=seed, rng=rng, quality=0.5,
                                task=task, extra_config={"task": {"fixed_horizon": learner == "expert"}})
               for task in ("hopper", "ant") for learner in ("ppo", "expert") for method in ("gail", "oracle")
               for seed in range(2)]
    store = ResultsStore(tmp_path)
    store.append(records)
    tables = [t() if callable(t) else t for t in layout_leaderboard(store.frame(), ReportOptions(figures=False))]
    assert tables[0].columns[1:-1] == ("hopper: ppo", "hopper (fixed horizon): expert", "ant: ppo",
                                      "ant (fixed horizon): expert")
    # the sources stay each record's own: imitation's convention for the expert columns
    assert tables[0].column_protocols[1:-1] == ("sequence", "expert", "sequence", "expert")
    one_task = [r for r in records if r["task"] == "hopper" and r["learner"] == "ppo"]
    single = ResultsStore(tmp_path / "one")
    single.append(one_task)
    assert [t() if callable(t) else t for t in layout_leaderboard(single.frame(), ReportOptions())][0].columns[1] == "ppo"


def test_markdown_fits_100_columns_splitting_wide_tables_and_cutting_long_headings():
    from benchmark.tables import Cell, Section, Table, markdown, text

    columns = ("method", *(f"learner number {i}" for i in range(9)))
    rows = tuple((text(m), *(Cell(float(i), spread=0.5, n=10) for i in range(9))) for m in ("lfl", "a_longer_name"))
    title = "Normalized score (each protocol's convention: " + "a long explanation, " * 6 + "the end)"
    out = markdown([Section("s", "quick", "s (profile quick)", (Table("t", title, columns, rows),))])
    lines = out.splitlines()
    assert max(map(len, lines)) <= 100
    assert "### Normalized score" in lines and lines[lines.index("### Normalized score") + 2].startswith("Each protocol")
    headers = [line for line in lines if line.startswith("| method |")]
    assert len(headers) > 1 and all(h.startswith("| method | learner number") for h in headers)  # groups, led by the labels
    shown = [c for h in headers for c in h.strip("| ").split(" | ")[1:]]
    assert shown == list(columns[1:])  # every column once, in order
    assert sum(line.startswith("| lfl |") for line in lines) == len(headers)


def test_lfl_normalization_is_not_meaningful_where_the_learners_span_is_within_its_noise(tmp_path):
    """A learner whose last observed score is not above its first by two standard errors of the
    difference gives 'n.m.' with the span, not a number; a seed of that kind is left out of a cell
    with others; records without standard errors are shown as before, with a note."""
    rng = np.random.default_rng(0)
    records = []
    for task, span_se in (("ant", 40.0), ("hopper", 1.0), ("reacher", None)):
        for s in range(3):
            record = synthetic_record(suite="lfl-table3", method="lfl", learner="ppo", seed=s, rng=rng, quality=1.2,
                                      task=task)
            record["track"] = "mujoco"
            metrics = record["metrics"]
            if span_se is not None:  # hopper's seed 2 has a span within its noise too
                se = span_se if not (task == "hopper" and s == 2) else 100.0
                metrics.update(learner_first_se=se, learner_last_se=se)
            records.append(record)
    df = frame(records, tmp_path)
    table = layout_lfl_table3(df, FAST)[0]
    rows = {row[0].text: dict(zip(table.columns, row)) for row in table.rows}
    assert rows["ant"]["lfl"].text.startswith("n.m. (span ") and rows["ant"]["lfl"].point is None
    assert rows["hopper"]["lfl"].n == 2 and rows["hopper"]["lfl"].is_number  # seed 2 left out
    assert rows["reacher"]["lfl"].n == 3  # no standard errors: as before
    notes = " ".join(table.notes)
    assert "n.m.: not meaningful" in notes and "3 record(s) made before records carried the standard errors" in notes
    board = [t for t in (t() if callable(t) else t for t in layout_leaderboard(df, FAST)) if t.name == "normalized"][0]
    assert any(cell.text and cell.text.startswith("n.m. (span") for row in board.rows for cell in row[1:])


@pytest.mark.parametrize("profile, shown", [("smoke", "these numbers are not results"), ("quick", "a fraction of the paper's"),
                                            ("paper", None)])
def test_a_paper_column_beside_another_profile_carries_a_note(tmp_path, profile, shown):
    rng = np.random.default_rng(0)
    records = [synthetic_record(suite="lfl-table3", method="lfl", learner="spi", seed=s, rng=rng, quality=1.4,
                                task="halfcheetah", profile=profile) for s in range(2)]
    section = sections(frame(records, tmp_path), {"lfl-table3": "lfl-table3"}, FAST)[0]
    notes = " ".join(section.tables[0].notes)
    assert f"Profile {profile}; 2 seeds (0-1); records of commit synthetic, 2026-01-01." in notes  # every table
    assert (shown in notes) if shown else ("fraction" not in notes and "not results" not in notes)


def test_records_of_one_cell_with_different_configs_are_never_pooled(tmp_path):
    """Table 2 at two alpha_models: two LfL rows, each named by what differs; a plugin method's
    rows are named, with no paper numbers beside them; learners in the suite's order whatever the
    store's; two code versions named in the note."""
    rng = np.random.default_rng(0)
    records = []
    for alpha, commit in ((0.7, "aaaaaaaaaaaa"), (0.3, "bbbbbbbbbbbb")):
        for learner in ("svi", "spi"):  # the store's order is not the suite's (spi first)
            for seed in range(2):
                record = synthetic_record(suite="lfl-table2", method="lfl", learner=learner, seed=seed, rng=rng,
                                          quality=1.0, extra_config={"method": {"alpha_model": alpha}})
                record["versions"] = {"git_commit": commit}
                records.append(record)
    records += [synthetic_record(suite="lfl-table2", method="mine", learner="spi", seed=s, rng=rng, quality=0.5)
                for s in range(2)]
    (section,) = sections(frame(records, tmp_path), {"lfl-table2": "lfl-table2"}, FAST)
    table = section.tables[0]
    rows = [(row[0].text, row[1].text, row[-1].text) for row in table.rows]
    assert [(learner, method) for learner, method, _ in rows] == [
        ("spi", "lfl [method.alpha_model=0.3]"), ("spi", "lfl [method.alpha_model=0.7]"), ("spi", "mine"),
        ("svi", "lfl [method.alpha_model=0.3]"), ("svi", "lfl [method.alpha_model=0.7]")]
    assert rows[0][2] == "4.68 ± 0.24" and rows[2][2] == "-"  # the paper's LfL column: LfL rows only
    assert all(int(row[3].text) == 2 for row in table.rows)  # each row two seeds: nothing pooled
    assert "Records of 3 code versions: aaaaaaaaaa (4), bbbbbbbbbb (4)" in section.note


def test_figures_keep_task_forms_apart_draw_no_band_from_one_seed_and_give_every_method_its_colour(tmp_path):
    rng = np.random.default_rng(0)
    # Table 1's two grids: a learning-curve panel each, never their average
    records = [synthetic_record(suite="lfl-table1", method="lfl", learner="spi", seed=0, rng=rng, quality=1.0,
                                extra_config={"task": {"stochastic": stochastic}}) for stochastic in (False, True)]
    for record in records:  # Theorem 2's rows: the ones Table 1's curves show
        record["label"] = record["config"]["label"] = "theorem2"
    df = frame(records, tmp_path, artifacts=True)
    job = [j for j in figures.jobs_for_layout("lfl-table1", df, FAST, "t1") if j.name == "t1-learning-curves"][0]
    fig = job.build()
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["lfl-gridworld: spi", "lfl-gridworld (stochastic): spi"]
    # one seed a panel: lines, and no band around them
    assert all(not ax.collections for ax in fig.axes if ax.get_visible() and ax.get_title())
    # twelve methods, twelve colours
    colours = figures.palette([f"m{i}" for i in range(12)] + ["oracle", "bc"])
    assert len({tuple(np.round(c, 3)) for name, c in colours.items() if name.startswith("m")}) == 12


def test_reward_heatmaps_share_one_labelled_colour_scale_and_a_sweep_has_its_figure(tmp_path):
    df = frame(leaderboard_records(2, methods=("lfl", "gail")), tmp_path, artifacts=True)
    found = figures.heatmap_panels(df[df.learner == "spi"], "method")
    fig = figures.reward_heatmaps(*found)
    bars = [ax for ax in fig.axes if ax.get_ylabel().startswith("reward, standardized")]
    assert len(bars) == 1 and len([ax for ax in fig.axes if ax.get_visible()]) == len(found[0]) + 1
    rng = np.random.default_rng(0)
    sweep = [synthetic_record(suite="ablation-lfl-alpha-model", method="lfl", learner=learner, seed=s, rng=rng,
                              quality=q, extra_config={"method": {"alpha_model": q}})
             for learner in ("spi", "svi") for q in (0.3, 0.7, 1.0) for s in range(3)]
    jobs = figures.jobs_for_layout("ablation", frame(sweep, tmp_path / "sweep", artifacts=True), FAST, "abl")
    assert [j.name for j in jobs] == ["abl-ablation"]
    drawn = jobs[0].build()
    assert drawn.axes[0].get_xlabel() == "method.alpha_model" and len(drawn.axes[0].get_lines()) >= 2


def test_the_page_names_the_commit_and_the_day_that_made_it(tmp_path):
    from benchmark.leaderboard import page

    html = page(sections(frame(leaderboard_records(2, methods=("lfl",)), tmp_path), {"gridworld": "leaderboard"}, FAST))
    assert re.search(r"Made at commit [0-9a-f]{10} on \d{4}-\d{2}-\d{2} \(UTC\)", html)
    assert "records of commit synthetic" in html
