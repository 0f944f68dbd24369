"""The irlbench command line: list, run, experts, show, export, report (a thin layer over benchmark/api.py).

Only what a command needs is imported, when it needs it: `--help` and `list` start in a fraction
of a second (list reads the declarations, never torch or Ray)."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
import warnings

from benchmark.suite_files import PROFILES, ConfigError, did_you_mean, suite_names
from benchmark.tables import AGGREGATES, NORMALIZATIONS, NORMALIZED

# Exit codes: 0 done; 1 some trials failed or timed out (their records say why); 2 bad input (nothing
# was run or written); 3 the store could not be written mid-run; 128 + signal number when
# interrupted (130 for Ctrl-C, 143 for SIGTERM).
EXIT_TRIALS_FAILED, EXIT_BAD_INPUT, EXIT_STORE = 1, 2, 3
BACKEND_NAMES = ("ray", "serial")  # benchmark.backends.BACKENDS, named here so that --help never imports Ray
DEFAULT_STORE, RESULTS = "runs", "results"  # benchmark.api's: a run's own store; the committed records
FORMATS = ("md", "tex", "csv", "html")

EXPORT_COLUMNS = ["suite", "label", "task", "learner", "method", "seed", "profile", "status", "score",
                  "learner_first_score", "learner_last_score", "optimal_score", "random_score", "regret",
                  "normalized_score", "normalized_score_expert", "epic_distance", "trial_id", "error"]
PLUGIN_HELP = ("a module name or a .py file defining IRLMethod subclasses, registered beside the built-in methods "
               "(repeatable; installed packages' entry points in the group irlbench.methods are always loaded)")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit code 2
        raise ConfigError(message)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("irlbench")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="irlbench", description="Comparative benchmarking suite for inverse RL.",
                    epilog="`irlbench COMMAND --help` shows a command's options.")
    parser.add_argument("--version", action="version", version=f"irlbench {version()}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    listing = sub.add_parser("list", help="methods, reference rows, tasks, learners, the protocol (with every config "
                                          "key and its default) and suites")
    listing.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE.py",
                         help=PLUGIN_HELP)
    run = sub.add_parser("run", help="run a suite (finished trials are skipped)")
    run.add_argument("suite", help=f"a packaged suite ({', '.join(suite_names())}) or the path of a suite file")
    run.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default: the suite's)")
    run.add_argument("--profile", default="quick", help=f"budget profile: {', '.join(PROFILES)} (default: quick)")
    run.add_argument("--store", default=DEFAULT_STORE,
                     help=f"results store directory (default: {DEFAULT_STORE}; the committed records in "
                          f"{RESULTS}/ are written only when named)")
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
    run.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE.py",
                     help=PLUGIN_HELP)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    experts = sub.add_parser("experts", help="the committed MuJoCo experts and their returns; `experts train TASK` "
                                             "trains one")
    experts_sub = experts.add_subparsers(dest="experts_command", parser_class=Parser, metavar="SUBCOMMAND")
    train = experts_sub.add_parser("train", help="train a task's expert from its recipe (resumable: run it again "
                                                 "after an interruption) and write it into the package")
    train.add_argument("task", help="a MuJoCo task: reacher, hopper, halfcheetah, walker2d, ant")
    train.add_argument("--fixed-horizon", action="store_true", help="the seals form (no early termination)")
    train.add_argument("--steps", type=int, default=None, help="the budget (default: the recipe's)")
    train.add_argument("--seed", type=int, default=0, help="the training seed (default: 0)")
    train.add_argument("--out", default=None, metavar="DIR",
                       help="write the expert's files into DIR (default: the package's committed experts)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    show = sub.add_parser("show", help="one trial's record in full, with its traceback when it failed")
    show.add_argument("trial_id", help="a trial id (or a unique prefix of one), as `export` and a run's failures name it")
    show.add_argument("--store", default=DEFAULT_STORE, help=f"results store directory (default: {DEFAULT_STORE}, "
                      f"where runs write; the committed records: --store {RESULTS})")
    show.add_argument("--artifacts", action="store_true", help="the artifacts too (curves, reward tables), in full")
    export = sub.add_parser("export", help="one CSV row per trial on stdout")
    report = sub.add_parser("report", help="tables in the paper layouts, figures and the HTML leaderboard")
    for p in (export, report):
        p.add_argument("--store", default=DEFAULT_STORE, help=f"results store directory (default: {DEFAULT_STORE}, "
                       f"where runs write; the committed records: --store {RESULTS})")
        p.add_argument("--suite", default=None, help="only this suite (default: every suite in the store)")
    report.add_argument("--format", default="md", help=f"one or more of {', '.join(FORMATS)}, comma-separated "
                        "(default: md); without --out the first is printed")
    report.add_argument("--out", default=None, metavar="DIR",
                        help="write report.<format> files and figures/ (PNG and PDF) into DIR")
    report.add_argument("--metric", default=NORMALIZED,
                        help="the value in the tables: normalized (default), policy_normalized or a record metric "
                             "(score, regret, epic_distance, ...)")
    report.add_argument("--normalization", default="protocol",
                        help=f"{', '.join(NORMALIZATIONS)} (default protocol: LfL's for learner sequences, "
                             "imitation's for expert demonstrations)")
    report.add_argument("--aggregate", default="mean",
                        help=f"{', '.join(AGGREGATES)}: cells as mean ± std, or IQM with a 95%% bootstrap "
                             "interval (default: mean)")
    report.add_argument("--no-figures", action="store_true", help="tables only")
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    import dataclasses
    import textwrap

    from benchmark import plugins
    from benchmark.config import SECTIONS, load_suite
    from benchmark.references import REFERENCES
    from envs.registry import LEARNERS, TRACK_OF_TASK
    from methods.registry import METHODS

    plugins.load_all(args.plugins)
    width = max(60, min(120, os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else 100))
    doc = lambda cls: next(iter((cls.__doc__ or "").strip().splitlines()), "(no description)")  # noqa: E731

    def keys(cls: type, label: str = "") -> str:
        """A config class's keys with their defaults, wrapped under its entry."""
        fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(cls)) or "(no keys)"
        return textwrap.fill(fields, width, initial_indent=" " * 6 + label, subsequent_indent=" " * 8,
                             break_on_hyphens=False)

    def entry(name: str, description: str) -> None:
        print(textwrap.fill(f"{name:22s} {description}", width, initial_indent="  ", subsequent_indent=" " * 8,
                            break_on_hyphens=False))

    print("methods (their config keys and defaults, per track where a track's form has its own):")
    for name, cls in sorted(METHODS.items()):
        by_track = {}
        for track in sorted(cls.tracks):
            needs = [what for what, needed in zip(("model", "simulator"), cls.needs(track)) if needed]
            by_track[track] = f"{' and '.join(needs)} access" if needs else ""
        if len(set(by_track.values())) == 1:
            access = f", needs {next(iter(by_track.values()))}" if next(iter(by_track.values())) else ""
        else:
            access = ", needs " + ", ".join(f"{need or 'nothing'} ({track})" for track, need in by_track.items())
        source = plugins.source_of(name)
        origin = f" [plugin: {source.kind} {source.path or source.module}]" if source else ""
        entry(name, f"uses {cls.uses}, tracks {', '.join(sorted(cls.tracks))}{access}{origin}: {doc(cls)}")
        configs = {track: cls.config_class(track) for track in sorted(cls.tracks)}
        if len(set(configs.values())) == 1:
            print(keys(next(iter(configs.values()))))
        else:
            for track, config in configs.items():
                print(keys(config, f"{track}: "))
    print("reference rows (computed by the pipeline, both tracks; no config keys):")
    for name, cls in REFERENCES.items():
        entry(name, doc(cls))
    print("tasks:")
    for name, cls in sorted(SECTIONS["task"].items()):
        entry(name, f"[{TRACK_OF_TASK[name]}] {doc(cls)}")
        print(keys(cls))
    for track, learners in LEARNERS.items():
        print(f"learners ({track} tasks):")
        for name, cls in sorted(learners.items()):
            entry(name, f"[{cls.source}] {doc(cls)}")
            print(keys(cls))
    print("protocol (what the observer is given; every trial, as protocol.KEY):")
    for name, cls in SECTIONS["protocol"].items():
        entry(name, doc(cls))
        print(keys(cls))
    print("suites:")
    for name in suite_names():
        suite = load_suite(name)
        search = f" x {suite.search_size} point(s) of {', '.join(suite.search)}" if suite.search else ""
        entry(name, f"{len(suite.cells)} cell(s){search} x {suite.seeds} seed(s): {suite.description}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark import api
    from benchmark import report as reports

    configs = api.trials(args.suite, seeds=args.seeds, profile=args.profile, overrides=args.overrides,
                         only=args.filters, plugins=args.plugins)
    outcome = api.execute(configs, store=args.store, backend=args.backend, address=args.address,
                          time_limit=args.time_limit, progress=not args.no_progress,
                          name=configs[0]["suite"] if configs else args.suite,
                          command=shlex.join(["irlbench", *args.argv]))
    if outcome.ended != "done":
        print(api.ended_message(outcome, args.store), file=sys.stderr)
        return 128 + outcome.signum if outcome.ended == "interrupted" else EXIT_STORE
    df = api.records(args.store)
    df = df[df.trial_id.isin(outcome.ids)]
    print(reports.summary(df))
    unfinished = df[df.status.isin(["failed", "timeout"])]
    for row in unfinished.itertuples():  # one line a failure, naming it
        where = "/".join(str(x) for x in (row.suite, row.task, row.learner, row.method) if x)
        error = str(row.error or "").splitlines()[0][:160] if row.error else row.status
        print(f"{row.status}: {row.trial_id} ({where}, seed {row.seed}): {error}", file=sys.stderr)
    if len(unfinished):
        print(f"`irlbench show TRIAL_ID --store {args.store}` shows a trial's record and traceback", file=sys.stderr)
        counts = unfinished.status.value_counts()
        print(f"{counts.get('failed', 0)} trial(s) failed, {counts.get('timeout', 0)} timed out; "
              f"`irlbench export --store {args.store}` shows their errors; running the same command again retries them",
              file=sys.stderr)
    shown = "" if args.store == DEFAULT_STORE else f" --store {args.store}"
    print(f"the records are in {args.store}/: `irlbench report{shown}` shows them", file=sys.stderr)
    return EXIT_TRIALS_FAILED if len(unfinished) else 0


def cmd_experts(args: argparse.Namespace) -> int:
    from envs.mujoco.envs import ENV_IDS

    if args.experts_command is None:
        from envs.mujoco.experts import committed_experts

        print(f"{'expert':18s} {'env id':22s} {'steps':>10s} {'return (50 det.)':>18s} {'target':>8s} "
              f"{'train':>7s}  status")
        for row in committed_experts():
            measured = f"{row['mean']:,.0f} +- {row['std']:,.0f}" if "mean" in row else "-"
            steps = f"{row['steps']:,}" if "steps" in row else "-"
            train_s = f"{row['train_s'] / 60:.0f} min" if "train_s" in row else "-"
            status = {"ok": "ok", "missing": "not trained yet"}.get(row["status"], f"{row['status']}: {row['problem']}")
            if "mean" in row and row["mean"] < row["target"]:  # a miss is stated, never hidden behind "ok"
                status += f", {(row['target'] - row['mean']) / abs(row['target']):.0%} below target"
            print(f"{row['name']:18s} {row['env_id']:22s} {steps:>10s} {measured:>18s} {row['target']:>8,.0f} "
                  f"{train_s:>7s}  {status}")
        return 0
    if args.task not in ENV_IDS:
        raise ConfigError(f"unknown MuJoCo task {args.task!r} (valid: {', '.join(ENV_IDS)})")
    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps {args.steps}: must be >= 1")
    from pathlib import Path

    from envs.mujoco.experts import EXPERT_DIR, train_expert

    expert = train_expert(args.task, args.fixed_horizon, steps=args.steps, seed=args.seed,
                          directory=Path(args.out) if args.out else EXPERT_DIR, progress=not args.no_progress,
                          command=shlex.join(["irlbench", *args.argv]))
    evaluation, training = expert.info["evaluation"], expert.info["training"]
    print(f"{expert.name} ({expert.env_id}): {evaluation['mean']:,.1f} +- {evaluation['std']:,.1f} over "
          f"{evaluation['episodes']} deterministic episodes (target {training['target']:,.0f}), "
          f"{training['steps']:,} steps in {training['train_s'] / 60:.1f} min; written to "
          f"{Path(args.out) if args.out else EXPERT_DIR}/{expert.name}.{{npz,json}}")
    return 0


def _frame(args: argparse.Namespace, artifacts: bool = False):
    """The store's records, of --suite only if given: a packaged suite or one whose records it holds."""
    from benchmark import api

    df = api.records(args.store, artifacts=artifacts) if os.path.isdir(args.store) else None
    if args.suite is not None:
        valid = sorted({*suite_names(), *(df.suite.unique() if df is not None and not df.empty else ())})
        if args.suite not in valid:
            raise ConfigError(f"unknown suite {args.suite!r}{did_you_mean(args.suite, valid)} (valid: {', '.join(valid)})")
    if df is None:
        raise ConfigError(f"no results store at {args.store!r}"
                          + (" (runs write there by default; the committed records: --store results)"
                             if args.store == DEFAULT_STORE else ""))
    if df.empty:
        raise ConfigError(f"no records in {os.path.join(args.store, 'records.jsonl')}")
    if args.suite is not None and not (df.suite == args.suite).any():
        raise ConfigError(f"no records of suite {args.suite!r} in {args.store} (its suites: "
                          f"{', '.join(sorted(df.suite.unique()))})")
    return df[df.suite == args.suite] if args.suite is not None else df


def cmd_show(args: argparse.Namespace) -> int:
    import json

    from benchmark.store import ResultsStore

    if not os.path.isdir(args.store):
        raise ConfigError(f"no results store at {args.store!r}")
    records = ResultsStore(args.store).records(artifacts=True)
    found = [r for r in records if r["trial_id"] == args.trial_id] or \
        [r for r in records if r["trial_id"].startswith(args.trial_id)]
    if len(found) != 1:
        raise ConfigError(f"{'no' if not found else len(found)} trial(s) in {args.store} with the id "
                          f"{args.trial_id!r}" + (": give more of it" if found else
                                                  f" (`irlbench export --store {args.store}` lists them)"))
    record = dict(found[0])
    traceback = record.get("diagnostics", {}).pop("traceback", None)
    if not args.artifacts:  # their keys and sizes: the curves and tables are for figures
        record["artifacts"] = {key: f"<{len(value)} values>" if isinstance(value, list) else value
                               for key, value in record.get("artifacts", {}).items()}
    print(json.dumps(record, indent=2, sort_keys=True))
    if traceback:
        print("\ntraceback (the trial's, kept in its record's diagnostics):\n" + traceback.rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    df = _frame(args)
    for column in EXPORT_COLUMNS:
        if column not in df:
            df[column] = None
    df[EXPORT_COLUMNS].to_csv(sys.stdout, index=False)
    return 0


def wants_figures(args: argparse.Namespace) -> bool:
    """Figures go to --out, or into a page printed as HTML; never into a terminal's markdown."""
    return not args.no_figures and (args.out is not None or args.format.split(",")[0].strip() == "html")


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark import api

    df = _frame(args, artifacts=wants_figures(args))
    n_ok = int((df.status == "ok").sum()) if not df.empty else 0
    subtitle = f"{len(df)} trial records ({n_ok} ok) from {os.path.join(args.store, 'records.jsonl')}"
    shown = api.report(df, format=args.format, out=args.out, metric=args.metric, normalization=args.normalization,
                       aggregate=args.aggregate, figures=wants_figures(args), subtitle=subtitle)  # options checked first
    if df.empty:
        print("no records", file=sys.stderr)
    elif args.out is None:
        sys.stdout.write(shown)
    return 0


class Interrupted:
    """The signal that stopped the command outside a run's trials (a run's own is Stop.signum)."""

    signum: int = signal.SIGINT

    @classmethod
    def on_sigterm(cls, signum: int, frame) -> None:
        cls.signum = signum
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # SIGTERM from the first moment on ends the command as Ctrl-C does: one line, exit code 143 (a run
    # installs its own handler while it runs trials, and puts this one back)
    if threading.current_thread() is threading.main_thread() and argv[:1] != ["list"]:
        Interrupted.signum = signal.SIGINT
        signal.signal(signal.SIGTERM, Interrupted.on_sigterm)
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            args.argv = argv
            if args.command is None:  # bare `irlbench`: what it can do
                parser.print_help()
                return 0
            if args.command != "list":
                from benchmark.store import StoreWarning

                warnings.simplefilter("always", StoreWarning)  # the store says each thing once itself
            if args.command == "list":
                return cmd_list(args)
            if args.command == "run":
                return cmd_run(args)
            if args.command == "export":
                return cmd_export(args)
            if args.command == "experts":
                return cmd_experts(args)
            if args.command == "show":
                return cmd_show(args)
            return cmd_report(args)
        except ConfigError as error:
            print(f"irlbench: error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:  # outside a run's trials (building configs, starting, reading, reporting)
            print("irlbench: interrupted", file=sys.stderr)
            return 128 + Interrupted.signum


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, like the errors."""
    print(f"irlbench: warning: {message}", file=sys.stderr if file is None else file)


if __name__ == "__main__":
    sys.exit(main())
