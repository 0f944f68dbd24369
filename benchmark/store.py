"""Append-only results store: one JSON record per line in <store>/records.jsonl.

Crash safety: a record is appended with one write() of a complete line and fsync'd; a process
killed mid-write can leave only a partial final line, which readers skip and the next writer
truncates away before appending. Later records of a trial id supersede earlier ones.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

FILENAME = "records.jsonl"
ARTIFACTS = ("learner_curve", "observer_curve", "reward")


class ResultsStore:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory).resolve()
        self.path = self.directory / FILENAME

    def records(self, artifacts: bool = True) -> list[dict[str, Any]]:
        """The latest complete record of each trial id, in first-seen order; without `artifacts`
        their text is skipped unparsed (most of a record's numbers, so most of the reading time)."""
        if not self.path.exists():
            return []
        latest: dict[str, dict[str, Any]] = {}
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # a partial record from a killed writer
                try:
                    record = json.loads(line if artifacts else without_artifacts(line))
                except json.JSONDecodeError:
                    continue
                latest[record["trial_id"]] = record
        return list(latest.values())

    def finished_ids(self) -> set[str]:
        """Trials that need no rerun: finished, or not applicable (failed ones are retried)."""
        return {r["trial_id"] for r in self.records() if r.get("status") in ("ok", "n/a")}

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

    def frame(self, artifacts: bool = False) -> pd.DataFrame:
        """One row per trial: identity columns, status and every metric as its own column; with
        `artifacts`, also the curves and reward tables the figures need (lists, None when absent)."""
        rows = []
        for r in self.records(artifacts=artifacts):
            row = {k: r.get(k) for k in ("trial_id", "suite", "label", "task", "learner", "method", "seed",
                                         "profile", "status", "error")}
            row.update(r.get("metrics", {}))
            if artifacts:
                found = r.get("artifacts") or {}
                row.update({k: found.get(k) for k in ARTIFACTS})
            row["total_s"] = r.get("timings", {}).get("total_s")
            row["config"] = json.dumps(r.get("config", {}), sort_keys=True)
            rows.append(row)
        return pd.DataFrame(rows)


def without_artifacts(line: bytes) -> bytes:
    """The record's JSON line with its artifacts object cut out. append() writes sorted keys, so
    "artifacts" is the first key and "config" the next; a line of any other shape is returned whole."""
    if not line.startswith(b'{"artifacts": {'):
        return line
    end = line.find(b'}, "config": ')
    return b"{" + line[end + 3:] if end > 0 else line


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
