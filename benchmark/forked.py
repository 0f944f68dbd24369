"""Work fanned out to forked processes. A forked child inherits the parent's memory, so the work
(closures over large data frames included) is never pickled; only the results come back."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_TASKS: list[Callable[[], Any]] = []  # what a child finds in the memory it inherited


def _run(index: int) -> Any:
    return _TASKS[index]()


def start(tasks: list[Callable[[], Any]], processes: int) -> Callable[[], list[Any]]:
    """Starts the zero-argument `tasks` in up to `processes` forked processes and returns a function
    that waits for them and gives their results in order; a task's exception is raised there. With
    no processes or no tasks, or where fork is not available, the tasks run here, when the results
    are asked for."""
    if processes < 1 or not tasks or "fork" not in multiprocessing.get_all_start_methods():
        return lambda: [task() for task in tasks]
    _TASKS[:] = tasks
    # fork launches every worker at the first submit, each with its own copy of _TASKS
    pool = ProcessPoolExecutor(min(processes, len(tasks)), mp_context=multiprocessing.get_context("fork"))
    try:
        futures = [pool.submit(_run, i) for i in range(len(tasks))]
    finally:
        _TASKS.clear()

    def results() -> list[Any]:
        try:
            return [future.result() for future in futures]
        finally:
            pool.shutdown()

    return results


def run(tasks: list[Callable[[], Any]], processes: int) -> list[Any]:
    """The results of `tasks`, in order: the first runs here while the rest run in processes - 1
    forked processes."""
    if not tasks:
        return []
    rest = start(tasks[1:], processes - 1)
    return [tasks[0]()] + rest()
