"""Reward features of the MuJoCo tasks: a basis the true reward is (nearly) linear in, not the reward.

LOGEL (Ramponi et al. 2020) models a learner as gradient ascent on a linear reward w . phi(s, a, s');
the features are part of its problem statement, as TaskInfo.features are on the tabular track. The
LOGEL paper's: Reacher, 25 Gaussian radial basis functions of the fingertip-to-target offset (the
authors' rbf.py: centres on a 5 x 5 grid over [-0.2, 0.2]^2, standard deviation 0.05) plus the
squared action norm; Hopper, forward displacement, an alive indicator and the squared action
norm. The others follow the Hopper pattern with gymnasium's own terms (HalfCheetah has no alive
term; Ant and Walker2d have gymnasium's healthy ranges):

    forward   the torso's x velocity over the step (v4 forms: the mean of qvel[0] before and after it; seals
              forms, which keep the x position: the displacement over the step divided by dt)
    alive     1 where the body is healthy after the step, by gymnasium's rule for the task
    action    the squared action norm |a|^2

Every feature is a function of (obs, action, next_obs) the observer already sees: nothing reads
the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class BodyLayout:
    """Where a locomotion task's observation keeps what its reward is made of."""

    velocity: int  # index of qvel[0] (the torso's x velocity) in the v4 observation
    z: int | None  # index of the torso height in the v4 observation (None: no health rule)
    angle: int | None  # index of the torso angle (None: not part of the rule)
    z_range: tuple[float, float] = (-np.inf, np.inf)
    angle_range: tuple[float, float] = (-np.inf, np.inf)
    positions: int = 1  # leading position entries the seals form keeps (x; Ant: x and y)
    dt: float = 0.008


LAYOUTS: dict[str, BodyLayout] = {
    "hopper": BodyLayout(velocity=5, z=0, angle=1, z_range=(0.7, np.inf), angle_range=(-0.2, 0.2)),
    "halfcheetah": BodyLayout(velocity=8, z=None, angle=None, dt=0.05),
    "ant": BodyLayout(velocity=13, z=0, angle=None, z_range=(0.2, 1.0), positions=2, dt=0.05),
    "walker2d": BodyLayout(velocity=8, z=0, angle=1, z_range=(0.8, 2.0), angle_range=(-1.0, 1.0)),
}
RBF_CENTRES = np.stack(np.meshgrid(np.linspace(-0.2, 0.2, 5), np.linspace(-0.2, 0.2, 5)), -1).reshape(-1, 2)
RBF_WIDTH = 0.05  # the authors' (rbf.py: centres on [-0.2, 0.2]^2, variance 0.05^2): the bumps overlap


def reacher_features(obs: Array, actions: Array, next_obs: Array) -> Array:
    """(N, 26): 25 Gaussian RBFs of the fingertip-to-target offset (obs[8:10], before the step, as
    the true reward reads it) and |a|^2. The grid covers offsets up to about 0.3 (a random arm
    reaches 0.4, where every bump is near 0): the reward is linear in these up to R^2 ~0.95."""
    offset = obs[:, 8:10]
    squared = ((offset[:, None, :] - RBF_CENTRES[None]) ** 2).sum(-1)
    return np.concatenate([np.exp(-squared / (2 * RBF_WIDTH**2)), (actions**2).sum(1, keepdims=True)], axis=1)


def body_features(layout: BodyLayout, fixed_horizon: bool) -> Callable[[Array, Array, Array], Array]:
    """(N, F) forward velocity, [alive,] |a|^2 for a locomotion task in its v4 or seals form."""
    shift = layout.positions if fixed_horizon else 0

    def features(obs: Array, actions: Array, next_obs: Array) -> Array:
        if fixed_horizon:  # the seals forms keep x: the displacement is exact
            forward = (next_obs[:, 0] - obs[:, 0]) / layout.dt
        else:
            forward = 0.5 * (obs[:, layout.velocity] + next_obs[:, layout.velocity])
        columns = [forward]
        if layout.z is not None:
            z = next_obs[:, layout.z + shift]
            healthy = (z > layout.z_range[0]) & (z < layout.z_range[1])
            if layout.angle is not None:
                angle = next_obs[:, layout.angle + shift]
                healthy &= (angle > layout.angle_range[0]) & (angle < layout.angle_range[1])
            columns.append(healthy.astype(float))
        columns.append((actions**2).sum(1))
        return np.stack(columns, axis=1)

    return features


FEATURE_NAMES: dict[str, tuple[str, ...]] = {
    "reacher": tuple(f"rbf{i}" for i in range(25)) + ("action",),
    "hopper": ("forward", "alive", "action"), "halfcheetah": ("forward", "action"),
    "ant": ("forward", "alive", "action"), "walker2d": ("forward", "alive", "action"),
}


def reward_features(task: str, fixed_horizon: bool) -> Callable[[Array, Array, Array], Array]:
    """The task's feature map (obs, actions, next_obs) -> (N, F) float64, batched."""
    if task == "reacher":
        return reacher_features
    return body_features(LAYOUTS[task], fixed_horizon)
