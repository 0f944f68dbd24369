"""Forked tasks: results in order, from other processes, errors raised to the caller; run here
when no process is asked for."""

import os

import pytest

from benchmark import forked


def test_tasks_run_in_forked_processes_and_come_back_in_order():
    data = list(range(1000))  # reached through the closures, never pickled
    tasks = [lambda i=i: (i, sum(data[i::4]), os.getpid()) for i in range(4)]
    results = forked.start(tasks, 2)()
    assert [(i, total) for i, total, _ in results] == [(i, sum(data[i::4])) for i in range(4)]
    assert all(pid != os.getpid() for *_, pid in results)


def test_without_processes_tasks_run_here_when_the_results_are_asked_for():
    ran = []
    results = forked.start([lambda: ran.append("a") or 1, lambda: ran.append("b") or 2], 0)
    assert ran == []
    assert results() == [1, 2] and ran == ["a", "b"]


def test_run_does_the_first_task_here_and_the_rest_elsewhere():
    pids = forked.run([os.getpid, os.getpid, os.getpid], 3)
    assert pids[0] == os.getpid() and pids[1] != os.getpid() and pids[2] != os.getpid()
    assert forked.run([], 2) == []


def test_a_failing_task_raises_where_the_results_are_asked_for():
    def fails():
        raise ValueError("task 1 failed")

    results = forked.start([lambda: 0, fails], 2)
    with pytest.raises(ValueError, match="task 1 failed"):
        results()
