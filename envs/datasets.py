"""What an observer sees: batches of state-action pairs, one per observed policy, no rewards.

The same types serve tabular and continuous tasks: a tabular observation is an int64 state
index and a tabular action an int64 action index; a continuous one is a float array row.
The learner's true scores travel separately (ReferenceScores) and reach only the evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Batch:
    """D_k: transitions sampled from one observed policy, in the order they were generated.

    observations: (N, *obs_shape); actions: (N, *act_shape); next_observations: like observations;
    episode_starts: (N,) bool, True where a new episode began (the stream was reset before it).
    """

    observations: Array
    actions: Array
    next_observations: Array
    episode_starts: Array

    def __len__(self) -> int:
        return len(self.actions)


@dataclass(frozen=True)
class ObservationDataset:
    """The observer's view of a learner: D_0..D_K in order.

    policies: the exact observed policies (K+1, S, A) under the exact-policy protocol (LfL
    Table 1); None when only trajectories are observed.
    """

    batches: tuple[Batch, ...]
    policies: Array | None = None

    @property
    def n_policies(self) -> int:
        return len(self.batches) if self.policies is None else len(self.policies)

    def last(self, m: int = 1) -> tuple[Batch, ...]:
        """The last m batches (the demonstrations of demonstration-based methods)."""
        return self.batches[-m:]


@dataclass(frozen=True)
class ReferenceScores:
    """True-reward scores kept away from methods, for normalization and reporting only.

    learner: (K+1,) score of each observed policy; optimal: the optimal (expert) policy's score;
    random: the uniformly random policy's score.
    """

    learner: Array
    optimal: float
    random: float


def dataset_to_arrays(dataset: ObservationDataset, reference: ReferenceScores) -> dict[str, Array]:
    arrays: dict[str, Array] = {"n_batches": np.array(len(dataset.batches))}
    for k, batch in enumerate(dataset.batches):
        for f in fields(Batch):
            arrays[f"batch{k}.{f.name}"] = getattr(batch, f.name)
    if dataset.policies is not None:
        arrays["policies"] = dataset.policies
    arrays["ref.learner"] = reference.learner
    arrays["ref.optimal"] = np.array(reference.optimal)
    arrays["ref.random"] = np.array(reference.random)
    return arrays


def dataset_from_arrays(arrays: dict[str, Array]) -> tuple[ObservationDataset, ReferenceScores]:
    n = int(arrays["n_batches"])
    batches = tuple(Batch(**{f.name: arrays[f"batch{k}.{f.name}"] for f in fields(Batch)}) for k in range(n))
    dataset = ObservationDataset(batches, arrays["policies"] if "policies" in arrays else None)
    reference = ReferenceScores(arrays["ref.learner"], float(arrays["ref.optimal"]), float(arrays["ref.random"]))
    return dataset, reference


def cache_key(spec: dict) -> str:
    """Content address of a dataset: a hash of everything that determines it."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    return Path(os.environ.get("IRLBENCH_CACHE", Path.home() / ".cache" / "irlbench")).resolve() / "datasets"


def load_or_generate(spec: dict, generate, cache_dir: Path | None = None) -> tuple[ObservationDataset, ReferenceScores]:
    """Load the dataset addressed by `spec` from the cache, or generate and cache it atomically.

    `generate()` must be a deterministic function of `spec`; concurrent writers are safe because
    each writes a private temporary file and renames it into place.
    """
    directory = cache_dir or default_cache_dir()
    path = directory / f"{cache_key(spec)}.npz"
    if path.exists():
        with np.load(path) as archive:
            return dataset_from_arrays(dict(archive))
    dataset, reference = generate()
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **dataset_to_arrays(dataset, reference))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dataset, reference
