"""Explicit seeds for libraries that draw from the global generators (SB3, imitation)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def seeded_global_rngs(seed: int) -> Iterator[None]:
    """SB3 and imitation sample from the global Python, numpy and torch generators: seed them for
    the block and give the caller its own states back afterwards."""
    import torch
    from stable_baselines3.common.utils import set_random_seed

    python_state, numpy_state, torch_state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.set_rng_state(torch_state)


def int_seed(seed: np.random.SeedSequence | int, stream: int = 0) -> int:
    """A 31-bit integer seed (what SB3 and gymnasium take) from a SeedSequence's child `stream`."""
    if isinstance(seed, int):
        seed = np.random.SeedSequence(seed)
    return int(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, stream)).generate_state(1)[0] >> 1)
