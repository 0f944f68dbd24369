"""The irlbench command line: list, run, export, report."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import shlex
import signal
import sys
import warnings
from pathlib import Path

import pandas as pd

from benchmark import report as reports
from benchmark.store import IDENTITY, ResultsStore, StoreError, StoreWarning
from benchmark.suite_files import PROFILES, ConfigError, suite_layout, suite_names

# Exit codes: 0 done; 1 some trials failed or timed out (their records say why); 2 bad input (nothing
# was run or written); 3 the store could not be written mid-run; 128 + signal number when
# interrupted (130 for Ctrl-C, 143 for SIGTERM).
EXIT_TRIALS_FAILED, EXIT_BAD_INPUT, EXIT_STORE = 1, 2, 3
BACKEND_NAMES = ("ray", "serial")  # benchmark.backends.BACKENDS, named here so `report` never imports Ray

EXPORT_COLUMNS = ["suite", "label", "task", "learner", "method", "seed", "profile", "status", "score",
                  "learner_first_score", "learner_last_score", "optimal_score", "random_score", "regret",
                  "normalized_score", "normalized_score_expert", "epic_distance", "trial_id", "error"]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit code 2
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="irlbench", description="Comparative benchmarking suite for inverse RL.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("list", help="methods, tasks, learners, suites")
    run = sub.add_parser("run", help="run a suite (finished trials are skipped)")
    run.add_argument("suite")
    run.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default: the suite's)")
    run.add_argument("--profile", default="quick", help=f"budget profile: {', '.join(PROFILES)}")
    run.add_argument("--store", default="results", help="results store directory (default: results)")
    run.add_argument("--backend", default="ray", help=f"{', '.join(BACKEND_NAMES)} (default: ray)")
    run.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                     help="an existing Ray cluster to run on, e.g. ray://head:10001 or head:6379 "
                          "(default: $RAY_ADDRESS, else a local Ray on this machine)")
    run.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                     help="wall-clock limit per trial; a trial past it is recorded with status timeout")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key, e.g. --set task.stochastic=true (repeatable)")
    run.add_argument("--only", dest="filters", action="append", default=[], metavar="KEY=VALUE",
                     help="run only the trials with this config value, e.g. --only method.name=gail (a part of a "
                          "board; repeatable: one key twice takes either value, two keys both)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    export = sub.add_parser("export", help="one CSV row per trial on stdout")
    report = sub.add_parser("report", help="tables in the paper layouts, figures and the HTML leaderboard")
    for p in (export, report):
        p.add_argument("--store", default="results", help="results store directory (default: results)")
        p.add_argument("--suite", default=None, help="only this suite (default: every suite in the store)")
    report.add_argument("--format", default="md", help=f"one or more of {', '.join(FORMATS)}, comma-separated "
                        "(default: md); without --out the first is printed")
    report.add_argument("--out", default=None, metavar="DIR",
                        help="write report.<format> files and figures/ (PNG and PDF) into DIR")
    report.add_argument("--metric", default=reports.NORMALIZED,
                        help="the value in the tables: normalized (default), policy_normalized or a record metric "
                             "(score, regret, epic_distance, ...)")
    report.add_argument("--normalization", default="protocol",
                        help=f"{', '.join(reports.NORMALIZATIONS)} (default protocol: LfL's for learner sequences, "
                             "imitation's for expert demonstrations)")
    report.add_argument("--aggregate", default="mean",
                        help=f"{', '.join(reports.AGGREGATES)}: cells as mean ± std, or IQM with a 95%% bootstrap "
                             "interval (default: mean)")
    report.add_argument("--no-figures", action="store_true", help="tables only")
    return parser


def cmd_list() -> int:
    from benchmark.config import SECTIONS, load_suite
    from benchmark.references import REFERENCES
    from envs.registry import LEARNERS, TRACK_OF_TASK
    from methods.registry import METHODS

    doc = lambda cls: (cls.__doc__ or "").strip().splitlines()[0]  # noqa: E731
    fields = lambda cls: ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(cls))  # noqa: E731
    print("methods:")
    for name, cls in sorted(METHODS.items()):
        by_track = {}
        for track in sorted(cls.tracks):
            needs = [what for what, needed in zip(("model", "simulator"), cls.needs(track)) if needed]
            by_track[track] = f"{' and '.join(needs)} access" if needs else ""
        if len(set(by_track.values())) == 1:
            access = f", needs {next(iter(by_track.values()))}" if next(iter(by_track.values())) else ""
        else:
            access = ", needs " + ", ".join(f"{need or 'nothing'} ({track})" for track, need in by_track.items())
        print(f"  {name:22s} uses {cls.uses}, tracks {', '.join(sorted(cls.tracks))}{access}: {doc(cls)}")
    print("reference rows (computed by the pipeline, both tracks):")
    for name, cls in REFERENCES.items():
        print(f"  {name:22s} {doc(cls)}")
    print("tasks:")
    for name, cls in sorted(SECTIONS["task"].items()):
        print(f"  {name:22s} [{TRACK_OF_TASK[name]}] {fields(cls)}")
    for track, learners in LEARNERS.items():
        print(f"learners ({track} tasks):")
        for name, cls in sorted(learners.items()):
            print(f"  {name:22s} [{cls.source}] {fields(cls)}")
    print("suites:")
    for name in suite_names():
        suite = load_suite(name)
        search = f" x {suite.search_size} point(s) of {', '.join(suite.search)}" if suite.search else ""
        print(f"  {name:22s} {len(suite.cells)} cell(s){search} x {suite.seeds} seed(s): {suite.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.backends import BACKENDS, RUNNERS, Stop, check_reachable, stopped_by_signals
    from benchmark.config import expand, load_suite, parse_filter, parse_override, select, trial_id

    suite = load_suite(args.suite)
    if args.backend not in BACKENDS:
        raise ConfigError(f"unknown backend {args.backend!r} (valid: {', '.join(BACKENDS)})")
    overrides = [parse_override(text) for text in args.overrides]
    if args.backend == "ray":
        check_reachable(args.address)  # before anything is printed or written
    if args.time_limit is not None and args.time_limit <= 0:
        raise ConfigError(f"--time-limit must be positive, got {args.time_limit:g}")
    configs = expand(suite, seeds=suite.seeds if args.seeds is None else args.seeds, profile=args.profile, overrides=overrides)
    configs = select(configs, [parse_filter(text) for text in args.filters])
    ids = [trial_id(c) for c in configs]
    store = ResultsStore(args.store)
    with contextlib.ExitStack() as held:
        try:  # the store is checked, and held for this run, before any trial runs
            held.enter_context(store.exclusive(shlex.join(["irlbench", *args.argv])))
        except StoreError as error:
            raise ConfigError(str(error)) from None
        done = store.finished_ids()
        todo = [config for config, i in zip(configs, ids) if i not in done]
        print(f"{suite.name}: {len(configs)} trial(s), {len(configs) - len(todo)} already finished, "
              f"{len(todo)} to run ({args.backend})", file=sys.stderr)
        progress = Progress(len(todo), store, disabled=args.no_progress or not todo)
        try:
            with stopped_by_signals():
                if todo:
                    RUNNERS[args.backend](todo, progress.on_record, address=args.address,
                                          time_limit_s=args.time_limit, on_start=progress.on_start)
        except KeyboardInterrupt:
            progress.close()
            finished = len(store.finished_ids() & set(ids))
            print(f"irlbench: interrupted: {finished} of {len(configs)} trial(s) finished; this run wrote "
                  f"{progress.written} record(s); run the same command again to resume", file=sys.stderr)
            return 128 + Stop.signum
        except StoreError as error:
            progress.close()
            print(f"irlbench: error: {error}. The run stopped; {progress.written} record(s) of it are in the store. "
                  "Run the same command again once the store can be written to run the rest", file=sys.stderr)
            return EXIT_STORE
        progress.close()
    df = store.frame()
    df = df[df.trial_id.isin(ids)]
    print(reports.summary(df))
    unfinished = df[df.status.isin(["failed", "timeout"])]
    if len(unfinished):
        counts = unfinished.status.value_counts()
        print(f"{counts.get('failed', 0)} trial(s) failed, {counts.get('timeout', 0)} timed out; "
              "`irlbench export` shows their errors; running the same command again retries them", file=sys.stderr)
    return EXIT_TRIALS_FAILED if len(unfinished) else 0


class Progress:
    """The terminal's view of a running sweep: done / total, running, failed, timeouts and the ETA
    (tqdm's); every finished record is appended to the store the moment it arrives, and warnings
    that trials carry (diagnostics "warnings") are shown once each."""

    def __init__(self, total: int, store: ResultsStore, *, disabled: bool) -> None:
        from tqdm import tqdm

        self.store, self.running, self.failed, self.timeout, self.written = store, 0, 0, 0, 0
        self.warned: set[str] = set()
        self.bar = tqdm(total=total, disable=disabled, unit="trial", file=sys.stderr, dynamic_ncols=True)
        self.show()

    def show(self) -> None:
        self.bar.set_postfix(running=self.running, failed=self.failed, timeout=self.timeout, refresh=True)

    def on_start(self, config: dict) -> None:
        self.running += 1
        self.show()

    def on_record(self, record: dict) -> None:
        self.store.append([record])  # a StoreError stops the run
        self.written += 1
        for warning in record.get("diagnostics", {}).get("warnings", []):
            if warning not in self.warned:
                self.warned.add(warning)
                self.bar.write(f"irlbench: warning: {warning}", file=sys.stderr)
        self.running = max(0, self.running - 1)
        self.failed += record["status"] == "failed"
        self.timeout += record["status"] == "timeout"
        self.bar.update()
        self.show()

    def close(self) -> None:
        self.bar.close()


def _frame(args: argparse.Namespace, artifacts: bool = False) -> pd.DataFrame:
    """The store's records, of --suite only if given: a packaged suite or one whose records it holds."""
    df = ResultsStore(args.store).frame(artifacts=artifacts, workers=cores()) if Path(args.store).is_dir() else None
    if args.suite is not None:
        valid = sorted({*suite_names(), *(df.suite.unique() if df is not None and not df.empty else ())})
        if args.suite not in valid:
            raise ConfigError(f"unknown suite {args.suite!r} (valid: {', '.join(valid)})")
    if df is None:
        raise ConfigError(f"no results store at {args.store!r}")
    return df[df.suite == args.suite] if args.suite is not None and not df.empty else df


def cores() -> int:
    """The CPU cores this process may run on (reading and figures use them all)."""
    return len(os.sched_getaffinity(0))


def cmd_export(args: argparse.Namespace) -> int:
    df = _frame(args)
    for column in EXPORT_COLUMNS:
        if column not in df:
            df[column] = None
    df[EXPORT_COLUMNS].to_csv(sys.stdout, index=False)
    return 0


FORMATS = {"md": "report.md", "tex": "report.tex", "csv": "report.csv", "html": "index.html"}


def report_options(args: argparse.Namespace, df: pd.DataFrame) -> tuple[list[str], reports.ReportOptions]:
    """The requested formats and options, validated before anything is computed or written."""
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    for name, value, valid in (("format", formats, list(FORMATS)),
                               ("normalization", [args.normalization], list(reports.NORMALIZATIONS)),
                               ("aggregate", [args.aggregate], list(reports.AGGREGATES))):
        bad = [v for v in value if v not in valid] or ([] if value else [""])
        if bad:
            raise ConfigError(f"unknown --{name} {bad[0]!r} (valid: {', '.join(valid)})")
    metrics = [reports.NORMALIZED, "policy_normalized"] + sorted(
        c for c in df.columns if c not in NOT_METRICS and pd.api.types.is_numeric_dtype(df[c]))
    if args.metric not in metrics:
        raise ConfigError(f"unknown --metric {args.metric!r} (valid: {', '.join(metrics)})")
    return formats, reports.ReportOptions(metric=args.metric, normalization=args.normalization,
                                          aggregate=args.aggregate, figures=wants_figures(args))


def wants_figures(args: argparse.Namespace) -> bool:
    """Figures go to --out, or into a page printed as HTML; never into a terminal's markdown."""
    return not args.no_figures and (args.out is not None or args.format.split(",")[0].strip() == "html")


NOT_METRICS = {*IDENTITY, "config", "artifacts"}


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark import leaderboard, tables

    df = _frame(args, artifacts=wants_figures(args))
    formats, options = report_options(args, df)
    if df.empty:
        print("no records", file=sys.stderr)
        return 0
    layouts = {name: suite_layout(name) for name in df.suite.unique() if name in suite_names()}
    sections = reports.sections(df, layouts, options, processes=cores())
    n_ok = int((df.status == "ok").sum())
    subtitle = f"{len(df)} trial records ({n_ok} ok) from {Path(args.store) / 'records.jsonl'}"
    render = {"md": lambda: tables.markdown(sections, "figures" if args.out and options.figures else None),
              "tex": lambda: tables.latex(sections), "csv": lambda: tables.csv_text(sections),
              "html": lambda: leaderboard.page(sections, subtitle=subtitle)}
    if args.out is None:
        sys.stdout.write(render[formats[0]]())
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reports_written = [tables.write_atomically(out / FORMATS[name], render[name]()).name for name in formats]
    figure_files_written = [path for section in sections if options.figures for figure in section.figures
                            for path in figure.write(out / "figures")]
    print(f"wrote {len(reports_written) + len(figure_files_written)} file(s) to {out}/: "
          + ", ".join(sorted(reports_written))
          + (f" and {len(figure_files_written)} figure file(s) in figures/" if figure_files_written else ""),
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", StoreWarning)  # the store says each thing once itself
        warnings.showwarning = show_warning
        try:
            args = build_parser().parse_args(argv)
            args.argv = argv
            if args.command == "list":
                return cmd_list()
            if args.command == "run":
                return cmd_run(args)
            if args.command == "export":
                return cmd_export(args)
            return cmd_report(args)
        except ConfigError as error:
            print(f"irlbench: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:  # outside a run's trials (building configs, reading, reporting)
            print("irlbench: interrupted", file=sys.stderr)
            return 128 + signal.SIGINT


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, like the errors."""
    print(f"irlbench: warning: {message}", file=sys.stderr if file is None else file)


if __name__ == "__main__":
    sys.exit(main())
