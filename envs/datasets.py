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
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Batch:
    """D_k: transitions sampled from one observed policy, in the order they were generated.

    observations: (N, *obs_shape); actions: (N, *act_shape); next_observations: like observations;
    episode_starts: (N,) bool, True where a new episode began (the stream was reset before it).
    terminals: (N,) bool, True where the transition ended its episode by termination (a time limit
    is not one); None where the source does not say (the tabular streams).
    """

    observations: Array
    actions: Array
    next_observations: Array
    episode_starts: Array
    terminals: Array | None = None

    def __len__(self) -> int:
        return len(self.actions)


def concatenate(batches: tuple[Batch, ...] | list[Batch]) -> Batch:
    """One batch of several, in order (each keeps its episode starts; terminals False where a batch
    does not record them)."""
    terminals = [b.terminals if b.terminals is not None else np.zeros(len(b), dtype=bool) for b in batches]
    return Batch(*(np.concatenate([getattr(b, name) for b in batches])
                   for name in ("observations", "actions", "next_observations", "episode_starts")),
                 np.concatenate(terminals))


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
    random: the uniformly random policy's score; learner_se: (K+1,) the standard error of each
    learner score where it is a sample mean (a MuJoCo policy's episodes), None where exact.
    """

    learner: Array
    optimal: float
    random: float
    learner_se: Array | None = None


def dataset_to_arrays(dataset: ObservationDataset, reference: ReferenceScores) -> dict[str, Array]:
    arrays: dict[str, Array] = {"n_batches": np.array(len(dataset.batches))}
    for k, batch in enumerate(dataset.batches):
        for f in fields(Batch):
            if getattr(batch, f.name) is not None:
                arrays[f"batch{k}.{f.name}"] = getattr(batch, f.name)
    if dataset.policies is not None:
        arrays["policies"] = dataset.policies
    arrays["ref.learner"] = reference.learner
    arrays["ref.optimal"] = np.array(reference.optimal)
    arrays["ref.random"] = np.array(reference.random)
    if reference.learner_se is not None:
        arrays["ref.learner_se"] = reference.learner_se
    return arrays


def dataset_from_arrays(arrays: dict[str, Array]) -> tuple[ObservationDataset, ReferenceScores]:
    n = int(arrays["n_batches"])
    batches = tuple(Batch(**{f.name: arrays[f"batch{k}.{f.name}"] for f in fields(Batch) if f"batch{k}.{f.name}" in arrays})
                    for k in range(n))
    dataset = ObservationDataset(batches, arrays["policies"] if "policies" in arrays else None)
    reference = ReferenceScores(arrays["ref.learner"], float(arrays["ref.optimal"]), float(arrays["ref.random"]),
                                arrays.get("ref.learner_se"))
    return dataset, reference


class CacheWarning(UserWarning):
    """A cached dataset did not load, or did not match the spec it is cached under, and was made
    again; or a dataset could not be cached."""


SPEC_ENTRY, HASH_ENTRY = "cache.spec", "cache.sha256"  # what each cache file records of itself


def canonical(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def cache_key(spec: dict) -> str:
    """Content address of a dataset: a hash of everything that determines it."""
    return hashlib.sha256(canonical(spec).encode()).hexdigest()[:24]


def content_hash(arrays: dict[str, Array]) -> str:
    """sha256 of named arrays: names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    return Path(os.environ.get("IRLBENCH_CACHE", Path.home() / ".cache" / "irlbench")).resolve() / "datasets"


def load_or_generate(spec: dict, generate, cache_dir: Path | None = None) -> tuple[ObservationDataset, ReferenceScores]:
    """Load the dataset addressed by `spec` from the cache, or generate and cache it atomically.

    `generate()` must be a deterministic function of `spec`. Each file records its spec and a hash
    of its content; a file that does not load, was made from another spec or does not match its
    hash is made again, with a CacheWarning naming it. Concurrent writers are safe because each
    writes a private temporary file and renames it into place; a dataset that cannot be cached
    (a read-only or full disk) is used uncached, with a warning.
    """
    directory = cache_dir or default_cache_dir()
    path = directory / f"{cache_key(spec)}.npz"
    if path.exists():
        loaded, problem = _read_cached(path, spec)
        if loaded is not None:
            return loaded
        warnings.warn(f"dataset cache file {path} {problem}; made again from its spec", CacheWarning, stacklevel=2)
    dataset, reference = generate()
    arrays = dataset_to_arrays(dataset, reference)
    try:
        _write_cached(path, arrays, spec)
    except OSError as error:
        warnings.warn(f"could not cache the dataset at {path} ({error.strerror or error}); it is used uncached",
                      CacheWarning, stacklevel=2)
    return dataset, reference


def _read_cached(path: Path, spec: dict) -> tuple[tuple[ObservationDataset, ReferenceScores] | None, str]:
    """(the dataset, "") or (None, what is wrong with the file)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = dict(archive)
        recorded_spec, recorded_hash = arrays.pop(SPEC_ENTRY, None), arrays.pop(HASH_ENTRY, None)
        if recorded_spec is None or recorded_hash is None:
            return None, "records no spec or content hash (an older cache format)"
        if str(recorded_spec) != canonical(spec):
            return None, f"was made from another spec ({str(recorded_spec)[:200]})"
        if str(recorded_hash) != content_hash(arrays):
            return None, "does not match its content hash (corrupted)"
        return dataset_from_arrays(arrays), ""
    except Exception as error:  # a truncated or garbled file fails in many ways (zip, npy, key, value errors)
        return None, f"does not load ({type(error).__name__}: {error})"


def _write_cached(path: Path, arrays: dict[str, Array], spec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays, **{SPEC_ENTRY: np.array(canonical(spec)), HASH_ENTRY: np.array(content_hash(arrays))})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
