"""Reward distances that ignore what cannot matter: potential shaping and positive scale.

EPIC (Gleave et al. 2021, "Quantifying differences in reward functions") canonicalizes both
rewards to remove potential shaping, then takes the Pearson distance sqrt((1 - rho) / 2): 0 for
rewards equal up to shaping and positive scale, 1 for opposite ones. EPIC's sample-based
canonicalization removes shaping of the form phi(s) - gamma phi(s'); the rewards recovered here
are r(s, a), whose shaping class (Lemma 1) is phi(s) - gamma E_{s'|s,a}[phi(s')]. On a tabular
MDP that class is a linear subspace, so the canonicalization is exact: project each reward onto
the orthogonal complement of the shaping subspace (uniform weight on every (s, a)), which also
removes constants (constant potentials shift the reward by a constant).
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def shaping_basis(transitions: Array, gamma: float) -> Array:
    """(S*A, S) B with (B phi)(s, a) = phi(s) - gamma E_{s'|s,a} phi(s')."""
    n_s, n_a, _ = transitions.shape
    return np.eye(n_s).repeat(n_a, axis=0) - gamma * transitions.reshape(n_s * n_a, n_s)


def canonicalize(reward: Array, transitions: Array, gamma: float) -> Array:
    """(S, A) reward with its component in the shaping subspace removed."""
    basis = shaping_basis(transitions, gamma)
    flat = reward.reshape(-1)
    potential, *_ = np.linalg.lstsq(basis, flat, rcond=None)
    return (flat - basis @ potential).reshape(reward.shape)


def epic_distance(reward: Array, true_reward: Array, transitions: Array, gamma: float) -> float:
    """Pearson distance between the canonicalized rewards; NaN if either is pure shaping.

    Canonicalized rewards have zero mean (constants are shaping), so rho is their cosine."""
    a = canonicalize(reward, transitions, gamma).reshape(-1)
    b = canonicalize(true_reward, transitions, gamma).reshape(-1)
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a <= 1e-9 * np.linalg.norm(reward) or norm_b <= 1e-9 * np.linalg.norm(true_reward):
        return math.nan
    rho = float(np.clip(a @ b / (norm_a * norm_b), -1.0, 1.0))
    return math.sqrt((1.0 - rho) / 2.0)
