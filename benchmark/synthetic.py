"""Synthetic trial records shaped like the pipeline's (config, metrics, artifacts), for the report's
tests and its speed benchmark. Scores are drawn, not computed: never use them as results."""

from __future__ import annotations

import hashlib
import json

import numpy as np

SEQUENCE_LEARNERS = {"spi": 3, "svi": 20, "q_learning": 50, "random_improvements": 9, "gpomdp": 30}
METHODS = ("lfl", "maxent", "logel", "gail", "airl", "iq_learn", "gcl", "dac")
GRID_SHAPE = [5, 5]  # the LfL gridworld: state index x * 5 + y
_CELLS = {(4, 4): 10.0, (0, 4): -12.0, (4, 0): 0.0}  # every other cell -1, whatever the action
TRUE_REWARD = [[_CELLS.get((x, y), -1.0)] * 4 for x in range(5) for y in range(5)]


def synthetic_record(*, suite: str, method: str, learner: str, seed: int, rng: np.random.Generator,
                     quality: float, profile: str = "quick", task: str = "lfl-gridworld", status: str = "ok",
                     extra_config: dict | None = None) -> dict:
    """One record; `quality` is the expected normalized score of the method (0 = first observed
    policy, 1 = last; for expert demonstrations 0 = uniform, 1 = optimal)."""
    k = SEQUENCE_LEARNERS.get(learner, 1)
    optimal, random_score = 5.68, -19.8
    if learner == "expert":
        first = last = optimal
    else:
        first = random_score + rng.uniform(0, 5)
        last = first + rng.uniform(10, 20)
    low, high = (random_score, optimal) if learner == "expert" else (first, last)
    normalized = quality + 0.1 * rng.standard_normal()
    score = low + normalized * (high - low)
    learner_curve = np.sort(rng.uniform(first, last, k + 1))
    learner_curve[0], learner_curve[-1] = first, last
    observer_curve = last + (score - last) * (1 - 0.5 ** np.arange(11))
    config = {"suite": suite, "label": "", "seed": seed, "profile": profile,
              "task": {"name": task, "alpha": 0.3, "gamma": 0.96, "slip": 0.3, "stochastic": False},
              "learner": {"name": learner, "k": k}, "method": {"name": method},
              "protocol": {"name": "learner_sequence", "observation": "trajectories", "pairs_per_batch": 1000,
                           "grant_dynamics": True}}
    for section, values in (extra_config or {}).items():
        config[section] = {**config[section], **values}
    trial_id = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    span = last - first
    metrics = {"score": score, "regret": optimal - score, "learner_first_score": first, "learner_last_score": last,
               "optimal_score": optimal, "random_score": random_score,
               "normalized_score": (score - first) / span if span else float("nan"),
               "normalized_score_expert": (score - random_score) / (optimal - random_score),
               "epic_distance": float(rng.uniform(0, 1))}
    return {"trial_id": trial_id, "suite": suite, "label": "", "task": task, "learner": learner, "method": method,
            "seed": seed, "profile": profile, "config": config, "status": status, "track": "tabular",
            "source": "expert" if learner == "expert" else "sequence",
            "error": None if status == "ok" else "synthetic failure", "metrics": metrics if status == "ok" else {},
            "artifacts": {"learner_curve": learner_curve.round(4).tolist(),
                          "observer_curve": observer_curve.round(4).tolist(),
                          "reward": rng.normal(size=(25, 4)).round(4).tolist(),
                          "true_reward": TRUE_REWARD, "grid_shape": GRID_SHAPE} if status == "ok" else {},
            "diagnostics": {}, "timings": {"total_s": 1.0}, "created_at": "2026-01-01T00:00:00+00:00",
            "versions": {"git_commit": "synthetic"}}


def trial_record(trial_id: str, **fields) -> dict:
    """The smallest record the store accepts (status ok, an empty config, no metrics), with `fields` set."""
    return {"trial_id": trial_id, "suite": "s", "label": "", "task": "t", "learner": "l", "method": "m", "seed": 0,
            "profile": "quick", "status": "ok", "error": None, "config": {}, "metrics": {}, **fields}


def leaderboard_records(n_seeds: int, *, suite: str = "gridworld", seed: int = 0,
                        methods=METHODS, learners=(*SEQUENCE_LEARNERS, "expert")) -> list[dict]:
    """methods x learners x seeds records of a leaderboard suite; method i's quality rises with i."""
    rng = np.random.default_rng(seed)
    quality = {m: 0.5 + 0.1 * i for i, m in enumerate(methods)}
    return [synthetic_record(suite=suite, method=m, learner=l, seed=s, rng=rng, quality=quality[m])
            for m in methods for l in learners for s in range(n_seeds)]
