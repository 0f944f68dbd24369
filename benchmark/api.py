"""The Python API (also `import irlbench`): what the command line does, for notebooks and scripts.

    import irlbench
    df = irlbench.run("gridworld", profile="smoke", seeds=2, overrides={"method.name": "lfl"})
    print(irlbench.report(df))                           # the markdown report of those records
    everything = irlbench.records("results")             # the committed records, as a DataFrame

`run` takes a suite (a packaged one's name or a suite file's path) or a list of resolved trial
configs (`trials` makes them, to be filtered or edited first), runs what its store has not
finished, and returns the records of those trials as a DataFrame: the same records, in the same
store, as `irlbench run` writes. Bad input raises ConfigError (a ValueError) before anything runs.
The command line is built on these functions.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.suite_files import ConfigError

DEFAULT_STORE = "runs"  # a run's own store: the committed results/ are written only when named
RESULTS = "results"  # the committed records (read with --store results or records("results"))
FORMATS = {"md": "report.md", "tex": "report.tex", "csv": "report.csv", "html": "index.html"}
Settings = Mapping[str, Any] | Iterable[str] | Iterable[tuple[str, Any]]


def load_plugins(*specs: str) -> list[str]:
    """Registers the installed plugins' methods (entry points `irlbench.methods`) and those of each
    module or file given; returns the plugin method names."""
    from benchmark import plugins

    return plugins.load_all(list(specs))


def trials(suite: str, *, seeds: int | None = None, profile: str = "quick", overrides: Settings = (),
           only: Settings = (), plugins: Iterable[str] = ()) -> list[dict[str, Any]]:
    """The resolved trial configs of a suite: cells x search points x seeds 0..seeds-1 (default:
    the suite's), with `overrides` ({"method.name": "lfl"}, or "key=value" strings as --set takes)
    and only those `only` selects ({"method.name": ["gail", "airl"]}, as --only)."""
    from benchmark.config import expand, load_suite, parse_filter, parse_override, select

    load_plugins(*plugins)
    loaded = load_suite(suite)
    configs = expand(loaded, seeds=loaded.seeds if seeds is None else seeds, profile=profile,
                     overrides=_settings(overrides, parse_override, "--set"))
    return select(configs, _settings(only, parse_filter, "--only"))


def _settings(values: Settings, parse, flag: str) -> list[tuple[str, Any]]:
    """A mapping (a list value meaning either value for --only), "key=value" strings or pairs."""
    if isinstance(values, str):  # one "key=value"
        values = [values]
    if isinstance(values, Mapping):
        pairs = []
        for key, value in values.items():
            many = flag == "--only" and isinstance(value, (list, tuple))
            pairs += [(key, v) for v in value] if many else [(key, value)]
    else:
        pairs = [parse(item) if isinstance(item, str) else tuple(item) for item in values]
    return [(parse(f"{key}=0")[0], value) for key, value in pairs]  # each key checked as the command line does


@dataclass
class Outcome:
    """What a run did: its trial ids, the records it wrote, and how it ended ("done",
    "interrupted" by a signal, or "store" when the store could not be written)."""

    ids: list[str]
    written: int
    ended: str = "done"
    error: Exception | None = None
    signum: int = 0


def execute(configs: list[dict[str, Any]], *, store: str | Path = DEFAULT_STORE, backend: str = "ray",
            address: str | None = None, time_limit: float | None = None, progress: bool = True,
            name: str = "", command: str = "irlbench (Python API)") -> Outcome:
    """Runs the trials `store` has not finished, appending each record as it arrives. Checks the
    backend, the cluster and the store (ConfigError) before any trial runs."""
    from benchmark.backends import BACKENDS, RUNNERS, Stop, check_environment, check_reachable, stopped_by_signals
    from benchmark.config import trial_id
    from benchmark.store import ResultsStore, StoreError

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r} (valid: {', '.join(BACKENDS)})")
    if backend == "ray":
        check_reachable(address)
    if time_limit is not None and time_limit <= 0:
        raise ConfigError(f"--time-limit must be positive, got {time_limit:g}")
    check_environment(backend, address)  # before the store: a run that cannot start creates no records file
    ids = [trial_id(c) for c in configs]
    results = ResultsStore(store)
    created = not results.directory.exists(), not results.path.exists()  # what this run would leave behind
    with contextlib.ExitStack() as held:
        try:  # the store is checked, and held for this run, before any trial runs
            held.enter_context(results.exclusive(command))
        except StoreError as error:
            raise ConfigError(str(error)) from None
        done = results.finished_ids()
        todo = [config for config, i in zip(configs, ids) if i not in done]
        suites = name or ", ".join(dict.fromkeys(c["suite"] for c in configs)) or "no trials"
        print(f"{suites}: {len(configs)} trial(s), {len(configs) - len(todo)} already finished, "
              f"{len(todo)} to run ({backend})", file=sys.stderr)
        bar = Progress(len(todo), results, disabled=not progress or not todo)
        try:
            with stopped_by_signals():
                if todo:
                    RUNNERS[backend](todo, bar.on_record, address=address, time_limit_s=time_limit,
                                     on_start=bar.on_start)
        except KeyboardInterrupt:
            bar.close()
            return Outcome(ids, bar.written, "interrupted", signum=Stop.signum)
        except ConfigError:  # the backend could not start (a cluster that refuses this driver): no trial ran
            bar.close()
            if not bar.written:
                remove_new_store(results, *created)
            raise
        except StoreError as error:
            bar.close()
            return Outcome(ids, bar.written, "store", error=error)
        bar.close()
    return Outcome(ids, bar.written)


def remove_new_store(results, new_directory: bool, new_file: bool) -> None:
    """What a run that could not start created of its store: an empty records file, its lock, and
    the folder when the run made it (a store that was there before keeps what it had)."""
    for path, new in ((results.path, new_file), (results.directory / "run.lock", new_directory)):
        try:
            if new and path.exists() and (path.name == "run.lock" or path.stat().st_size == 0):
                path.unlink()
        except OSError:
            pass
    if new_directory:
        try:
            results.directory.rmdir()  # only if empty
        except OSError:
            pass


def ended_message(outcome: Outcome, store: str | Path) -> str:
    """The line a run that did not finish ends with."""
    from benchmark.store import ResultsStore

    if outcome.ended == "interrupted":
        finished = len(ResultsStore(store).finished_ids() & set(outcome.ids))
        return (f"irlbench: interrupted: {finished} of {len(outcome.ids)} trial(s) finished; this run wrote "
                f"{outcome.written} record(s); run the same command again to resume")
    return (f"irlbench: error: {outcome.error}. The run stopped; {outcome.written} record(s) of it are in the store. "
            "Run the same command again once the store can be written to run the rest")


def run(suite: str | os.PathLike | list[dict[str, Any]], *, store: str | Path = DEFAULT_STORE, backend: str = "ray",
        address: str | None = None, time_limit: float | None = None, progress: bool = True,
        **trial_options: Any) -> "pd.DataFrame":  # noqa: F821
    """Runs a suite (or a list of resolved trial configs) into `store` and returns those trials'
    records as a DataFrame (one row per trial, as `records` reads them). `trial_options` are
    `trials`' (seeds, profile, overrides, only, plugins). Raises KeyboardInterrupt when interrupted
    and StoreError when the store cannot be written, after the records that arrived are stored."""
    from benchmark.store import StoreError

    named = isinstance(suite, (str, os.PathLike))
    configs = trials(os.fspath(suite), **trial_options) if named else list(suite)
    if not named and trial_options:
        raise ConfigError(f"run(configs) takes no trial options ({', '.join(trial_options)}): they make configs")
    outcome = execute(configs, store=store, backend=backend, address=address, time_limit=time_limit,
                      progress=progress)
    if outcome.ended == "interrupted":
        print(ended_message(outcome, store), file=sys.stderr)
        raise KeyboardInterrupt
    if outcome.ended == "store":
        raise StoreError(str(outcome.error))
    df = records(store, artifacts=True)  # with what figures are drawn from: report(df, out=...) draws them
    return df[df.trial_id.isin(outcome.ids)].reset_index(drop=True)


def records(store: str | Path = DEFAULT_STORE, suite: str | None = None, *, artifacts: bool = False) -> "pd.DataFrame":  # noqa: F821
    """A store's records as a DataFrame, one row per trial (the latest record of each), of `suite` only if given."""
    import os

    from benchmark.store import ResultsStore

    if not Path(store).is_dir():
        raise ConfigError(f"no results store at {str(store)!r}")
    df = ResultsStore(store).frame(artifacts=artifacts, workers=len(os.sched_getaffinity(0)))
    return df[df.suite == suite].reset_index(drop=True) if suite is not None and not df.empty else df


def report_options(df: "pd.DataFrame", *, formats: list[str], metric: str, normalization: str,  # noqa: F821
                   aggregate: str, figures: bool):
    """The options of a report, validated (ConfigError naming the valid choices)."""
    import pandas as pd

    from benchmark import report as reports
    from benchmark.store import IDENTITY

    for name, value, valid in (("format", formats, list(FORMATS)),
                               ("normalization", [normalization], list(reports.NORMALIZATIONS)),
                               ("aggregate", [aggregate], list(reports.AGGREGATES))):
        bad = [v for v in value if v not in valid] or ([] if value else [""])
        if bad:
            raise ConfigError(f"unknown --{name} {bad[0]!r} (valid: {', '.join(valid)})")
    not_metrics = {*IDENTITY, "config", "artifacts"}
    metrics = [reports.NORMALIZED, "policy_normalized"] + sorted(
        c for c in df.columns if c not in not_metrics and pd.api.types.is_numeric_dtype(df[c]))
    if metric not in metrics:
        raise ConfigError(f"unknown --metric {metric!r} (valid: {', '.join(metrics)})")
    return reports.ReportOptions(metric=metric, normalization=normalization, aggregate=aggregate, figures=figures)


def report(df: "pd.DataFrame", *, format: str = "md", out: str | Path | None = None,  # noqa: F821
           metric: str = "normalized", normalization: str = "protocol", aggregate: str = "mean",
           figures: bool | None = None, subtitle: str = "") -> str:
    """The report of the records in `df` (from `run` or `records`, filtered as you like), in one or
    more comma-separated formats (md, tex, csv, html); returns the first format's text. With `out`,
    writes every format's file and the figures (PNG and PDF) into that directory, as
    `irlbench report --out` does. Figures default to on with `out`, off without."""
    import os

    from benchmark import leaderboard, tables
    from benchmark import report as reports
    from benchmark.suite_files import suite_layout, suite_names

    formats = [f.strip() for f in format.split(",") if f.strip()]
    figures = (out is not None or formats[:1] == ["html"]) if figures is None else figures
    if figures and not df.empty and "artifacts" not in df:
        import warnings

        warnings.warn("figures need the records' artifacts: read them with records(store, artifacts=True) "
                      "(run() returns them); the report has tables only")
        figures = False
    options = report_options(df, formats=formats, metric=metric, normalization=normalization,
                             aggregate=aggregate, figures=figures)
    if df.empty:
        return ""
    # a packaged suite's own layout; a suite file's sweep (its trials labelled by their swept values) as an ablation
    layouts = {name: suite_layout(name) if name in suite_names() else
               "ablation" if df[df.suite == name].label.nunique() > 1 else "" for name in df.suite.unique()}
    sections = reports.sections(df, layouts, options, processes=len(os.sched_getaffinity(0)))
    subtitle = subtitle or f"{len(df)} trial records ({int((df.status == 'ok').sum())} ok)"
    render = {"md": lambda: tables.markdown(sections, "figures" if out is not None and options.figures else None),
              "tex": lambda: tables.latex(sections), "csv": lambda: tables.csv_text(sections),
              "html": lambda: leaderboard.page(sections, subtitle=subtitle)}
    texts = {name: render[name]() for name in formats}
    if out is not None:
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        written = [tables.write_atomically(directory / FORMATS[name], texts[name]).name for name in formats]
        figure_files = [path for section in sections if options.figures for figure in section.figures
                        for path in figure.write(directory / "figures")]
        print(f"wrote {len(written) + len(figure_files)} file(s) to {directory}/: " + ", ".join(sorted(written))
              + (f" and {len(figure_files)} figure file(s) in figures/" if figure_files else ""), file=sys.stderr)
    return texts[formats[0]]


class Progress:
    """The terminal's view of a running sweep: done / total, running, failed, timeouts and the ETA
    (tqdm's); every finished record is appended to the store the moment it arrives, and warnings
    that trials carry (diagnostics "warnings") are shown once each."""

    LINE_EVERY_S = 30.0  # output that is not a terminal (a log, a pipe) gets a line this often, not redraws

    def __init__(self, total: int, store, *, disabled: bool) -> None:
        import time

        from tqdm import tqdm

        self.store, self.running, self.failed, self.timeout, self.written = store, 0, 0, 0, 0
        self.warned: set[str] = set()
        self.total, self.start, self.last_line = total, time.monotonic(), time.monotonic()
        self.lines = not disabled and not sys.stderr.isatty()
        self.bar = tqdm(total=total, disable=disabled or self.lines, unit="trial", file=sys.stderr, dynamic_ncols=True)
        self.show()

    def show(self) -> None:
        self.bar.set_postfix(running=self.running, failed=self.failed, timeout=self.timeout, refresh=True)

    def line(self) -> None:
        """One plain progress line (for a log): done / total, failures, elapsed time and the ETA."""
        import time

        now = time.monotonic()
        done, elapsed = self.written, now - self.start
        eta = f", about {elapsed / done * (self.total - done) / 60:.1f} min left" if 0 < done < self.total else ""
        print(f"progress: {done}/{self.total} trial(s) done, {self.failed} failed, {self.timeout} timed out, "
              f"{elapsed / 60:.1f} min{eta}", file=sys.stderr, flush=True)
        self.last_line = now

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
        if self.lines:
            import time

            if self.written == self.total or time.monotonic() - self.last_line >= self.LINE_EVERY_S:
                self.line()

    def close(self) -> None:
        self.bar.close()
