"""Append-only results store: one JSON record per line in <store>/records.jsonl.

Writing. Each record is checked against the record schema (FIELDS) and written as one line of
JSON with sorted keys, non-finite numbers as null. An append writes its lines and fsyncs them with
SIGINT and SIGTERM held back; a failed or short write (a full disk) cuts the file back to its
length before the append and raises StoreError, so the store is never left with a partial record
by a writer that lives. A killed writer can leave only a partial final line, which readers skip
and the next writer cuts away. One run writes a store at a time (`exclusive`).

Reading. A line that is not a record (not JSON, or not of the schema) is skipped, and each read
warns once (StoreWarning) with their count and the first one's line number; only a partial final
line is skipped silently. Later records of a trial id supersede earlier ones.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import gc
import io
import itertools
import json
import math
import mmap
import os
import signal
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from benchmark import forked

FILENAME = "records.jsonl"
LOCKNAME = "run.lock"
# The frame's columns of a record's top-level values (strings, and the seed), not metrics; track and
# source are optional (None in the frame where a record has none: records written before them).
IDENTITY = ("trial_id", "suite", "label", "task", "learner", "method", "seed", "profile", "status", "error",
            "track", "source")
STATUSES = ("ok", "n/a", "failed", "timeout")
# The record schema: every field and its JSON type; those in OPTIONAL may be absent. track: "tabular" or
# "mujoco"; source: the observation source, "sequence" (a learner's sequence: LfL's normalization) or
# "expert" (expert demonstrations: imitation's); plugin: where a plugin method came from (benchmark/plugins.py:
# kind, module, sha256, version, path), only in a plugin method's records.
FIELDS: dict[str, tuple[type, ...]] = {
    "trial_id": (str,), "suite": (str,), "label": (str,), "task": (str,), "learner": (str,), "method": (str,),
    "seed": (int,), "profile": (str,), "status": (str,), "error": (str, type(None)), "config": (dict,),
    "metrics": (dict,), "artifacts": (dict,), "diagnostics": (dict,), "timings": (dict,), "created_at": (str,),
    "versions": (dict,), "track": (str,), "source": (str,), "plugin": (dict,),
}
OPTIONAL = ("artifacts", "diagnostics", "timings", "created_at", "versions", "track", "source", "plugin")


class StoreError(Exception):
    """The store cannot be read or written as asked (a full disk, a read-only path, a busy store)."""


class StoreBusy(StoreError):
    """Another run holds the store."""


class StoreWarning(UserWarning):
    """Lines of a store that are not records were skipped."""


_KNOWN = frozenset(FIELDS)
_NUMBERS = frozenset((int, float, type(None)))  # exact types: a bool is not a number here


def record_problem(record: Any, cut: Iterable[str] = ()) -> str | None:
    """What makes `record` not a record of the schema (None if nothing); fields named in `cut`
    were checked to be JSON objects already and are not looked at."""
    if type(record) is dict and _conforms(record, cut):
        return None
    return _problem(record, cut)


def _conforms(record: dict, cut: Iterable[str]) -> bool:
    """The schema's check written out: every line read goes through it."""
    get, text, empty = record.get, str, {}
    return (type(get("trial_id")) is text and type(get("suite")) is text and type(get("label")) is text
            and type(get("task")) is text and type(get("learner")) is text and type(get("method")) is text
            and type(get("seed")) is int and type(get("profile")) is text and get("status") in STATUSES
            and (type(get("error")) is text or ("error" in record and record["error"] is None))
            and type(get("metrics")) is dict and ("config" in cut or type(get("config")) is dict)
            and record.keys() <= _KNOWN and _NUMBERS.issuperset(map(type, record["metrics"].values()))
            and type(get("artifacts", empty)) is dict and type(get("diagnostics", empty)) is dict
            and type(get("timings", empty)) is dict and type(get("versions", empty)) is dict
            and type(get("created_at", "")) is text and type(get("track", "")) is text
            and type(get("source", "")) is text and type(get("plugin", empty)) is dict)


def _problem(record: Any, cut: Iterable[str]) -> str | None:
    """record_problem's answer, in words."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    cut = set(cut)
    for key, types in FIELDS.items():
        if key in cut:
            continue
        if key not in record:
            if key not in OPTIONAL:
                return f"no {key!r} field"
            continue
        value = record[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"{key!r} is {type(value).__name__}, not {' or '.join(t.__name__ for t in types)}"
    unknown = sorted(set(record) - set(FIELDS) - cut)
    if unknown:
        return f"unknown field {unknown[0]!r}"
    if record["status"] not in STATUSES:
        return f"status {record['status']!r} is not one of {', '.join(STATUSES)}"
    for key, value in record["metrics"].items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"metric {key!r} is {type(value).__name__}, not a number"
    return None


def encode(record: dict[str, Any]) -> bytes:
    """One store line: the record as JSON with sorted keys, NaN and infinities as null."""
    problem = record_problem(record)
    if problem:
        raise ValueError(f"not a trial record: {problem}")
    try:
        text = json.dumps(record, sort_keys=True, allow_nan=False)
    except ValueError:  # a non-finite number somewhere: null, which every JSON reader accepts
        text = json.dumps(_finite(record), sort_keys=True, allow_nan=False)
    return text.encode() + b"\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class ResultsStore:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        self.path = self.directory / FILENAME
        self._warned: set[str] = set()  # each warning once per store object (a command reads several times)

    # --- writing ---------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Creates the store if it is missing and checks that records can be appended to it: a bad
        path fails here, before any trial runs, not after the first."""
        if self.directory.exists() and not self.directory.is_dir():
            raise StoreError(f"cannot use {self.directory} as a results store: it is a file, not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
        except OSError as error:
            raise StoreError(f"cannot write the results store at {self.directory}: "
                             f"{error.strerror or error}") from None

    @contextmanager
    def exclusive(self, command: str) -> Iterator[None]:
        """Holds the store for one run (`command` says which): a second run on the same store gets
        StoreBusy naming the holder's pid, at once, instead of computing every trial again."""
        self.check_writable()
        try:
            fd = os.open(self.directory / LOCKNAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StoreError(f"cannot lock the results store at {self.directory}: {error.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "a process"
                raise StoreBusy(f"the results store {self.directory} is in use by {holder}; wait for that "
                                "run to finish, or pass another --store") from None
            except OSError as error:  # ENOLCK, or a file system without locks
                raise StoreError(f"cannot lock the results store at {self.directory}: {error.strerror}") from None
            _HELD_LOCKS.add(fd)
            started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"pid {os.getpid()} (since {started}: {command})\n".encode(), 0)
            except OSError as error:  # a full disk: a run could not write its records either
                raise StoreError(f"cannot write the results store at {self.directory}: {error.strerror}") from None
            yield
        finally:
            _HELD_LOCKS.discard(fd)
            os.close(fd)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Appends the records, all or none: on a failed or short write the file is cut back to its
        length before, and StoreError says why."""
        lines = b"".join(encode(record) for record in records)  # a bad record raises before any write
        if not lines:
            return
        with _signals_held():
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as error:
                raise StoreError(f"cannot write the results store at {self.directory}: {error.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                _drop_partial_tail(fd)
                size = os.lseek(fd, 0, os.SEEK_END)
                try:
                    _write_all(fd, lines)
                    os.fsync(fd)
                except OSError as error:
                    _truncate(fd, size)
                    raise StoreError(f"could not append to {self.path}: {error.strerror or error} "
                                     f"(the store is as it was before this record)") from None
            finally:
                os.close(fd)

    # --- reading ---------------------------------------------------------------------------------

    def records(self, artifacts: bool = True) -> list[dict[str, Any]]:
        """The latest record of each trial id, in first-seen order; without `artifacts` their text
        is skipped unparsed (most of a record's numbers, so most of the reading time)."""
        latest: dict[str, dict[str, Any]] = {}
        skipped = Skipped()
        with self._mapped() as data, _no_gc():
            for at, line in _complete_lines(data, 0, len(data)):
                parsed = _parse(line, skipped, at)
                if parsed is None:
                    continue
                record, raw = parsed
                for key, value in _texts(line, raw).items():
                    if value is not None and (key == "config" or artifacts):
                        record[key] = _loads(value)
                latest[record["trial_id"]] = record
            self._warn(skipped, data)
        return list(latest.values())

    def finished_ids(self) -> set[str]:
        """Trials that need no rerun: finished, or not applicable (failed ones are retried)."""
        return {r["trial_id"] for r in self.records(artifacts=False) if r["status"] in ("ok", "n/a")}

    def frame(self, artifacts: bool = False, workers: int = 1) -> pd.DataFrame:
        """One row per trial (its latest record, in first-seen order): identity columns, status,
        track and source (None where a record has none), every metric as its own column (float, NaN where absent or null), total_s, fit_s, git_commit and the resolved
        config as JSON text (sorted keys); with `artifacts`, also an "artifacts" column of JSON
        bytes (None when absent), parsed only where asked (artifact_values, artifact_matrix).
        `workers` processes read a part each."""
        with self._mapped() as data:
            # parts that start at line starts, about equal in bytes
            cuts = sorted({0, len(data), *(data.find(b"\n", len(data) * k // workers) + 1 for k in range(1, workers))})
            parts = forked.run([functools.partial(_columns, data, start, end) for start, end in zip(cuts, cuts[1:])],
                               workers) or [_columns(data, 0, 0)]
            skipped = Skipped()
            for part in parts:
                skipped.merge(part.pop("skipped"))
            self._warn(skipped, data)
            return _frame(_latest_rows(_concatenated(parts)), data, artifacts)

    def _warn(self, skipped: Skipped, data: bytes | mmap.mmap) -> None:
        if not skipped.count:
            return
        line = data[:skipped.first_at].count(b"\n") + 1
        message = (f"{self.path}: skipped {skipped.count} line(s) that are not trial records "
                   f"(the first, line {line}: {skipped.first_reason})")
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(message, StoreWarning, stacklevel=3)

    @contextmanager
    def _mapped(self) -> Iterator[bytes | mmap.mmap]:
        """The file's bytes, memory-mapped (empty when there is no file)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            yield b""
            return
        with open(self.path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


# Run locks held by this process; a forked child (a time-limited trial) closes its copies, so that a
# child outliving a killed driver never keeps the store locked.
_HELD_LOCKS: set[int] = set()


def _close_held_locks() -> None:
    for fd in _HELD_LOCKS:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_held_locks)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (a Ctrl-C never cuts a record in two)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_all(fd: int, data: bytes) -> None:
    view, done = memoryview(data), 0
    while done < len(data):
        written = os.write(fd, view[done:])
        if written <= 0:
            raise OSError(0, f"short write ({done} of {len(data)} bytes)")
        done += written


def _truncate(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass  # nothing more can be done; the next writer cuts a partial tail


def _drop_partial_tail(fd: int) -> None:
    """Before an append: a last line without its newline is completed when it is a whole record,
    and cut (with a warning naming its offset) when it is a killed writer's partial one."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    os.lseek(fd, size - 1, os.SEEK_SET)
    if os.read(fd, 1) == b"\n":
        return
    # Find the end of the last complete line: the last line starts after it.
    position, start = size, 0
    while position > 0:
        step = min(65536, position)
        os.lseek(fd, position - step, os.SEEK_SET)
        chunk = os.read(fd, step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            start = position - step + newline + 1
            break
        position -= step
    last = os.pread(fd, size - start, start)
    try:
        whole = record_problem(_loads(last)) is None
    except ValueError:
        whole = False
    if whole:
        _write_all(fd, b"\n")
        return
    os.ftruncate(fd, start)
    warnings.warn(f"cut a partial last line at byte offset {start} ({size - start} bytes: a killed writer's)",
                  StoreWarning, stacklevel=4)


# --- reading: lines, records and the fast path -----------------------------------------------------

class Skipped:
    """Lines skipped as not records: how many, and where the first is (byte offset) and why."""

    def __init__(self) -> None:
        self.count, self.first_at, self.first_reason = 0, -1, ""

    def add(self, at: int, reason: str) -> None:
        if self.count == 0 or at < self.first_at:
            self.first_at, self.first_reason = at, reason
        self.count += 1

    def merge(self, other: Skipped) -> None:
        if other.count:
            self.add(other.first_at, other.first_reason)
            self.count += other.count - 1


def _complete_lines(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each line in data[start:end]; the file's last line without its newline too
    (a whole record whose newline was lost is a record; a killed writer's partial line is skipped by
    the parser, which says where it is)."""
    at = start
    while at < end:
        stop = data.find(b"\n", at, end)
        if stop < 0:
            yield at, data[at:end]
            return
        yield at, data[at:stop + 1]
        at = stop + 1


Raw = bytes | tuple[int, int] | None  # JSON bytes, or where they lie in the line, or nothing

# append() writes sorted keys, so a record's line begins with its artifacts, then its config, then
# created_at: those two values are cut out as text at the next key and kept as text (most of a
# line's bytes: the report parses only the artifacts it draws, and the page shows configs as text).
# The cut is exact or not made: a key pattern cannot occur inside a JSON string (its quotes would be
# escaped); one inside a nested object leaves the rest of the line unparseable, which falls back to
# parsing the whole line; and each value cut out must parse as one object (_exact_cut).
RAW_KEYS = (("artifacts", b', "config": '), ("config", b', "created_at": '))


def _parse(line: bytes, skipped: Skipped, at: int) -> tuple[dict[str, Any], dict[str, Raw]] | None:
    """The record on `line` less its artifacts and config (see _split), or None, counted in
    `skipped`, when the line is not a record."""
    if line.isspace():
        skipped.add(at, "an empty line")
        return None
    try:
        record, raw = _split(line)
    except ValueError as error:  # not JSON (orjson's and json's errors, and bad UTF-8, are ValueErrors)
        if not line.endswith(b"\n"):  # the file's unterminated last line: a writer killed mid-record
            skipped.add(at, f"a partial last line at byte offset {at} (a killed writer's; the next run cuts it)")
        else:
            skipped.add(at, f"not JSON ({str(error).splitlines()[0][:80]})")
        return None
    problem = record_problem(record, cut=_CUT[raw["artifacts"] is not None, raw["config"] is not None])
    if problem is None and raw["config"] is None:
        problem = "no 'config' field"
    if problem:
        skipped.add(at, problem)
        return None
    return record, raw


_CUT = {(a, c): ("artifacts",) * a + ("config",) * c for a in (False, True) for c in (False, True)}


def _split(line: bytes) -> tuple[Any, dict[str, Raw]]:
    """(the line's JSON less its artifacts and config, where their JSON lies in the line as
    (start, end), or the JSON bytes when the line was parsed whole, or None when absent). Raises
    ValueError for a line that is not JSON."""
    cuts: dict[str, tuple[int, int]] = {}
    at = 1  # where the next top-level key starts
    for key, after in RAW_KEYS:
        head = b'"%s": ' % key.encode()
        end = line.find(after, at) if line.startswith(head, at) else -1
        if end < 0 or not _exact_cut(line, at + len(head), end):
            break
        cuts[key], at = (at + len(head), end), end + 2
    record = None
    if cuts:
        try:
            record = _loads(b"{" + line[at:])
        except ValueError:
            cuts = {}
        if isinstance(record, dict) and not record.keys().isdisjoint(cuts):  # a key given twice: json's rule
            record, cuts = None, {}
    if record is None:
        record = _loads(line)
    raw: dict[str, Raw] = {key: cuts.get(key) for key, _ in RAW_KEYS}
    if isinstance(record, dict):
        for key, _ in RAW_KEYS:
            if key in record and isinstance(record[key], dict):
                raw[key] = json.dumps(record.pop(key), sort_keys=True).encode()
    return record, raw


def _exact_cut(line: bytes, start: int, end: int) -> bool:
    """Whether line[start:end], cut at the next raw key's pattern, is exactly one JSON object. Given
    that the rest of the line parses, a cut inside the object is impossible (the rest would hold
    an extra closing bracket); parsing the text rules out a cut after the object's end (one that
    swallowed a field sorted between the two keys) and a damaged value. Only the parse is paid for
    (orjson: a few microseconds), not the Python objects of every artifact, nor writing them back
    as text."""
    if line[start:start + 1] != b"{":
        return False
    try:
        return type(_loads(line[start:end])) is dict
    except ValueError:
        return False


def _texts(line: bytes, raw: dict[str, Raw]) -> dict[str, bytes | None]:
    return {key: line[value[0]:value[1]] if isinstance(value, tuple) else value for key, value in raw.items()}


def split_record(line: bytes) -> tuple[dict[str, Any], dict[str, bytes | None]]:
    """(the record less its artifacts and config, {"artifacts": JSON or None, "config": JSON or None}),
    the JSON as the bytes append() wrote, with sorted keys."""
    record, raw = _split(line)
    return record, _texts(line, raw)


def _loads(text: bytes) -> Any:
    """json.loads, by orjson (twice as fast) where the text is standard JSON: older records hold
    NaN and Infinity, which orjson rejects, so those are parsed by the json module."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _columns(data: bytes | mmap.mmap, start: int, end: int) -> dict[str, Any]:
    """The frame's columns, as lists, of the records on the complete lines of data[start:end], in
    order: identity keys, metrics (keys in first-seen order), total_s, fit_s, and the config and
    artifacts JSON as (start, end) offsets into `data`, or as bytes where a line was parsed whole:
    cheap to send back from a forked process. "skipped" counts the lines that are not records."""
    records, raws, skipped = [], [], Skipped()
    with _no_gc():
        for at, line in _complete_lines(data, start, end):
            parsed = _parse(line, skipped, at)
            if parsed is None:
                continue
            record, raw = parsed
            records.append(record)
            raws.append({key: (at + value[0], at + value[1]) if isinstance(value, tuple) else value
                         for key, value in raw.items()})
    metrics = [record["metrics"] for record in records]
    columns: dict[str, Any] = {key: [record.get(key) for record in records] for key in IDENTITY}
    columns.update({key: [m.get(key) for m in metrics] for key in dict.fromkeys(itertools.chain.from_iterable(metrics))})
    for key in ("total_s", "fit_s"):
        columns[key] = [(record.get("timings") or {}).get(key) for record in records]
    columns["git_commit"] = [(record.get("versions") or {}).get("git_commit") for record in records]
    columns["created_at"] = [record.get("created_at") for record in records]
    columns["config"] = [raw["config"] for raw in raws]
    columns["artifacts"] = [raw["artifacts"] for raw in raws]
    columns["skipped"] = skipped
    return columns


def _frame(columns: dict[str, list], data: bytes | mmap.mmap, artifacts: bool) -> pd.DataFrame:
    text = lambda raw: data[raw[0]:raw[1]] if isinstance(raw, tuple) else raw
    frame = pd.DataFrame({key: values for key, values in columns.items() if key not in ("config", "artifacts")})
    for key in frame.columns:
        if key not in (*IDENTITY, "git_commit", "created_at") and frame[key].dtype == object:  # a metric null everywhere
            frame[key] = pd.to_numeric(frame[key])
    # object columns: a string column would copy every text into an Arrow array, and these are only
    # ever read whole, row by row
    frame["config"] = pd.Series([(text(raw) or b"{}").decode() for raw in columns["config"]], dtype=object)
    if artifacts:
        frame["artifacts"] = pd.Series([text(raw) for raw in columns["artifacts"]], dtype=object)
    return frame


def _concatenated(parts: list[dict[str, list]]) -> dict[str, list]:
    """Column lists of consecutive parts joined, None where a part lacks a column."""
    keys = dict.fromkeys(itertools.chain.from_iterable(parts))
    lengths = [len(part["trial_id"]) for part in parts]
    return {key: list(itertools.chain.from_iterable(part.get(key, [None] * n) for part, n in zip(parts, lengths)))
            for key in keys}


def _latest_rows(columns: dict[str, list]) -> dict[str, list]:
    """The latest row of each trial id, at the position where the id first appears."""
    last: dict[str, int] = {}
    for i, trial_id in enumerate(columns["trial_id"]):
        last[trial_id] = i  # a dict keeps an id at its first insertion, with the value of its last
    if len(last) == len(columns["trial_id"]):
        return columns
    rows = list(last.values())
    return {key: [values[i] for i in rows] for key, values in columns.items()}


# --- artifacts: one entry of each record's artifacts JSON, parsing only that entry ------------------

def _key_value(text: bytes | None, key: str) -> tuple[int, Any]:
    """Where `key`'s value starts in an artifacts JSON (-1: absent), or, in artifacts with nested
    objects (or braces in strings: more than one '{'), (-2, the parsed value). Without nested
    objects the first `"key": ` is the key itself: inside a string its quotes would be escaped."""
    if not isinstance(text, bytes):
        return -1, None
    if text.count(b"{") > 1:  # the pattern may be a nested key: parse
        artifacts = _loads(text)
        return (-2, artifacts[key]) if key in artifacts else (-1, None)
    pattern = json.dumps(key).encode() + b": "  # as append() wrote it: non-ASCII and quotes escaped
    at = text.find(pattern)
    return (at + len(pattern) if at >= 0 else -1), None


def _flat_end(text: bytes, start: int) -> int:
    """Where a flat list of numbers starting at `start` ends (after its ']'), or -1 if the value is
    not one: such a list holds no '[' or '"' before its first ']'."""
    if not text.startswith(b"[", start):
        return -1
    end = text.find(b"]", start)
    inner = text[start + 1:end]
    return end + 1 if b"[" not in inner and b'"' not in inner else -1


def _value_at(text: bytes, start: int) -> Any:
    return json.JSONDecoder().raw_decode(text[start:].decode())[0]


def has_artifact(texts: Iterable[bytes | None], key: str) -> list[bool]:
    """Whether each artifacts JSON holds `key`, without parsing its value."""
    return [_key_value(text, key)[0] != -1 for text in texts]


def artifact_values(texts: Iterable[bytes | None], key: str) -> list[Any]:
    """The `key` entry of each artifacts JSON (None where absent), parsing only that entry; flat
    lists are parsed all together, in one call."""
    values: list[Any] = []
    flat_rows, flat_texts = [], []
    for text in texts:
        start, parsed = _key_value(text, key)
        values.append(parsed)
        if start >= 0:
            end = _flat_end(text, start)
            if end > 0:
                flat_rows.append(len(values) - 1)
                flat_texts.append(text[start:end])
            else:
                values[-1] = _value_at(text, start)
    for row, value in zip(flat_rows, _loads(b"[" + b",".join(flat_texts) + b"]")):
        values[row] = value
    return values


def artifact_matrix(texts: Iterable[bytes | None], key: str) -> np.ndarray:
    """(rows, longest) floats of a flat-list artifact such as a curve, NaN-padded (null is NaN); a
    row of NaN where the artifact is absent. Parsed as one CSV table by pandas' C reader, the
    fastest here."""
    lines = []
    for text in texts:
        start, value = _key_value(text, key)
        end = _flat_end(text, start) if start >= 0 else -1
        if end > 0:
            lines.append(text[start + 1:end - 1])
            continue
        if start >= 0:
            value = _value_at(text, start)
        if value is None:  # absent, or null
            lines.append(b"")
        elif isinstance(value, list) and all(type(v) in _NUMBERS for v in value):
            lines.append(b", ".join(b"null" if v is None else repr(float(v)).encode() for v in value))
        else:
            raise ValueError(f"artifact {key!r} is not a flat list of numbers")
    width = max((line.count(b",") + 1 for line in lines if line.strip()), default=0)
    if width == 0:
        return np.full((len(lines), 0), np.nan)
    table = pd.read_csv(io.BytesIO(b"\n".join(lines) + b"\n"), header=None, names=range(width),
                        skip_blank_lines=False, skipinitialspace=True, dtype=float)
    return table.to_numpy()


@contextmanager
def _no_gc():
    """Parsing builds many small containers, each of which would count toward the cyclic collector's
    thresholds, which then rescans them all, repeatedly; JSON records hold no cycles to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
