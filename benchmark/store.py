"""Append-only results store: one JSON record per line in <store>/records.jsonl.

Crash safety: a record is appended with one write() of a complete line and fsync'd; a process
killed mid-write can leave only a partial final line, which readers skip and the next writer
truncates away before appending. Later records of a trial id supersede earlier ones.
"""

from __future__ import annotations

import fcntl
import functools
import gc
import io
import itertools
import json
import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from benchmark import forked

FILENAME = "records.jsonl"
IDENTITY = ("trial_id", "suite", "label", "task", "learner", "method", "seed", "profile", "status", "error")


class ResultsStore:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        self.path = self.directory / FILENAME

    def records(self, artifacts: bool = True) -> list[dict[str, Any]]:
        """The latest complete record of each trial id, in first-seen order; without `artifacts`
        their text is skipped unparsed (most of a record's numbers, so most of the reading time)."""
        latest: dict[str, dict[str, Any]] = {}
        with self._mapped() as data, _no_gc():
            for _, line in _complete_lines(data, 0, len(data)):
                try:
                    record = _loads(line) if artifacts else _without_artifacts(line)
                    latest[record["trial_id"]] = record
                except (json.JSONDecodeError, KeyError):
                    continue
        return list(latest.values())

    def finished_ids(self) -> set[str]:
        """Trials that need no rerun: finished, or not applicable (failed ones are retried)."""
        return {r["trial_id"] for r in self.records(artifacts=False) if r.get("status") in ("ok", "n/a")}

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _drop_partial_tail(fd)
            for record in records:
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def frame(self, artifacts: bool = False, workers: int = 1) -> pd.DataFrame:
        """One row per trial (its latest record, in first-seen order): identity columns, status,
        every metric as its own column, total_s and the resolved config as JSON text (sorted keys);
        with `artifacts`, also an "artifacts" column of JSON bytes (None when absent), parsed only
        where asked (artifact_values, artifact_matrix). `workers` processes read a part each."""
        with self._mapped() as data:
            # parts that start at line starts, about equal in bytes
            cuts = sorted({0, len(data), *(data.find(b"\n", len(data) * k // workers) + 1 for k in range(1, workers))})
            parts = forked.run([functools.partial(_columns, data, start, end) for start, end in zip(cuts, cuts[1:])],
                               workers)
            return _frame(_latest_rows(_concatenated(parts or [_columns(data, 0, 0)])), data, artifacts)

    @contextmanager
    def _mapped(self) -> Iterator[bytes | mmap.mmap]:
        """The file's bytes, memory-mapped (empty when there is no file)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            yield b""
            return
        with open(self.path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _complete_lines(data: bytes | mmap.mmap, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each complete line in data[start:end]; a partial last line, from a killed
    writer, is skipped."""
    at = start
    while at < end:
        stop = data.find(b"\n", at, end)
        if stop < 0:
            return
        yield at, data[at:stop + 1]
        at = stop + 1


Raw = bytes | tuple[int, int] | None  # JSON bytes, or where they lie in the file, or nothing


def _columns(data: bytes | mmap.mmap, start: int, end: int) -> dict[str, list]:
    """The frame's columns, as lists, of the readable records on the complete lines of data[start:end],
    in order: identity keys, metrics (keys in first-seen order), total_s, and the config and
    artifacts JSON as (start, end) offsets into `data`, or as bytes where a line could not be cut:
    cheap to send back from a forked process."""
    records, raws = [], []
    with _no_gc():
        for at, line in _complete_lines(data, start, end):
            try:
                record, raw = _split(line)
                record["trial_id"]
            except (json.JSONDecodeError, KeyError):
                continue
            records.append(record)
            raws.append({key: (at + value[0], at + value[1]) if isinstance(value, tuple) else value
                         for key, value in raw.items()})
    metrics = [record.get("metrics") or {} for record in records]
    columns = {key: [record.get(key) for record in records] for key in IDENTITY}
    columns.update({key: [m.get(key) for m in metrics] for key in dict.fromkeys(itertools.chain.from_iterable(metrics))})
    columns["total_s"] = [(record.get("timings") or {}).get("total_s") for record in records]
    columns["config"] = [raw["config"] for raw in raws]
    columns["artifacts"] = [raw["artifacts"] for raw in raws]
    return columns


def _frame(columns: dict[str, list], data: bytes | mmap.mmap, artifacts: bool) -> pd.DataFrame:
    text = lambda raw: data[raw[0]:raw[1]] if isinstance(raw, tuple) else raw
    frame = pd.DataFrame({key: values for key, values in columns.items() if key not in ("config", "artifacts")})
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


# append() writes sorted keys, so a pipeline record's line begins with its artifacts, then its
# config, then created_at. Their values are cut out as text at those keys, unparsed: most of a
# line's bytes, so most of the reading time. A cut at a look-alike inside a value would leave
# unbalanced braces, which json.loads rejects; then the whole line is parsed instead.
RAW_KEYS = (("artifacts", b', "config": '), ("config", b', "created_at": '))


def _split(line: bytes) -> tuple[dict[str, Any], dict[str, Raw]]:
    """(the record less its artifacts and config, where their JSON lies in the line as (start, end),
    or the JSON bytes when the line could not be cut there, or None when the record has none)."""
    raw: dict[str, Raw] = {key: None for key, _ in RAW_KEYS}
    at = 1  # where the next top-level key starts
    for key, after in RAW_KEYS:
        head = b'"%s": ' % key.encode()
        end = line.find(after, at) if line.startswith(head, at) else -1
        if end > 0:
            raw[key], at = (at + len(head), end), end + 2
    try:
        return _loads(b"{" + line[at:] if at > 1 else line), raw
    except json.JSONDecodeError:
        record = _loads(line)
        return record, {key: json.dumps(record.pop(key), sort_keys=True).encode() if key in record else None
                        for key, _ in RAW_KEYS}


def _loads(text: bytes) -> Any:
    """json.loads, by orjson (twice as fast) where the text is standard JSON: json.dumps writes NaN
    and Infinity, which orjson rejects, so those records are parsed by the json module."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def split_record(line: bytes) -> tuple[dict[str, Any], dict[str, bytes | None]]:
    """(the record less its artifacts and config, {"artifacts": JSON or None, "config": JSON or None}),
    the JSON as the bytes append() wrote, with sorted keys."""
    record, raw = _split(line)
    return record, {key: line[value[0]:value[1]] if isinstance(value, tuple) else value for key, value in raw.items()}


def _without_artifacts(line: bytes) -> dict[str, Any]:
    record, raw = split_record(line)
    if raw["config"] is not None:
        record["config"] = _loads(raw["config"])
    return record


def _artifact_text(text: bytes | None, marker: bytes) -> tuple[int, int] | None:
    """Where the value after `marker` starts in an artifacts JSON, and where it ends if it is a flat
    list (-1 otherwise); None when absent. Artifacts hold numbers only, so the first marker is the
    key itself and a flat list ends at its first ']'."""
    at = text.find(marker) if isinstance(text, bytes) else -1
    if at < 0:
        return None
    start = at + len(marker)
    flat = text.startswith(b"[", start) and not text.startswith(b"[", start + 1)
    return start, text.index(b"]", start) + 1 if flat else -1


def has_artifact(texts: Iterable[bytes | None], key: str) -> list[bool]:
    """Whether each artifacts JSON holds `key`, without parsing it."""
    marker = b'"%s": ' % key.encode()
    return [_artifact_text(text, marker) is not None for text in texts]


def artifact_values(texts: Iterable[bytes | None], key: str) -> list[Any]:
    """The `key` entry of each artifacts JSON (None where absent), parsing only that entry; flat
    lists are parsed all together, in one call."""
    decoder = json.JSONDecoder()
    marker = b'"%s": ' % key.encode()
    values: list[Any] = []
    flat_rows, flat_texts = [], []
    for text in texts:
        found = _artifact_text(text, marker)
        values.append(None)
        if found is None:
            continue
        start, end = found
        if end > 0:
            flat_rows.append(len(values) - 1)
            flat_texts.append(text[start:end])
        else:
            values[-1] = decoder.raw_decode(text[start:].decode())[0]
    for row, value in zip(flat_rows, json.loads(b"[" + b",".join(flat_texts) + b"]")):
        values[row] = value
    return values


def artifact_matrix(texts: Iterable[bytes | None], key: str) -> np.ndarray:
    """(rows, longest) floats of a flat-list artifact such as a curve, NaN-padded; a row of NaN
    where the artifact is absent. Parsed as one CSV table by pandas' C reader, the fastest here."""
    marker = b'"%s": ' % key.encode()
    lines = []
    for text in texts:
        found = _artifact_text(text, marker)
        if found is not None and found[1] < 0:
            raise ValueError(f"artifact {key!r} is not a flat list")
        lines.append(b"" if found is None else text[found[0] + 1:found[1] - 1])
    width = max((line.count(b",") + 1 for line in lines if line.strip()), default=0)
    if width == 0:
        return np.full((len(lines), 0), np.nan)
    table = pd.read_csv(io.BytesIO(b"\n".join(lines) + b"\n"), header=None, names=range(width),
                        skip_blank_lines=False, dtype=float)
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


def _drop_partial_tail(fd: int) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    os.lseek(fd, size - 1, os.SEEK_SET)
    if os.read(fd, 1) == b"\n":
        return
    # Find the end of the last complete line and cut the partial record after it.
    position = size
    while position > 0:
        step = min(65536, position)
        os.lseek(fd, position - step, os.SEEK_SET)
        chunk = os.read(fd, step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            os.ftruncate(fd, position - step + newline + 1)
            return
        position -= step
    os.ftruncate(fd, 0)
