import numpy as np
import pytest
import torch

import gymnasium as gym

from envs.tabular.mdp import TabularMDP
from envs.tabular.task import TabularTask
from methods.base import TaskInfo

# The tests' tensors are tiny; extra threads only contend with numpy's BLAS on a 2-core machine.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own dataset cache."""
    monkeypatch.setenv("IRLBENCH_CACHE", str(tmp_path / "cache"))


def random_mdp(seed: int, n_states: int = 6, n_actions: int = 3, gamma: float = 0.9) -> TabularMDP:
    """A random MDP with fully stochastic dynamics and a state-action reward."""
    rng = np.random.default_rng(seed)
    transitions = rng.dirichlet(np.ones(n_states), size=(n_states, n_actions))
    reward = rng.normal(size=(n_states, n_actions))
    start = rng.dirichlet(np.ones(n_states))
    return TabularMDP(transitions, reward, gamma, start)


def grid_info(mdp: TabularMDP, alpha: float = 0.3, *, simulator: bool | None = None, **granted) -> TaskInfo:
    """What an observer knows of a tabular task; `granted` adds transitions (model access), start or
    features; simulator access comes with the transitions unless `simulator` says otherwise."""
    if simulator is None:
        simulator = "transitions" in granted
    return TaskInfo(name="grid", track="tabular", gamma=mdp.gamma, alpha=alpha,
                    observation_space=gym.spaces.Discrete(mdp.n_states), action_space=gym.spaces.Discrete(mdp.n_actions),
                    n_states=mdp.n_states, n_actions=mdp.n_actions,
                    simulator=TabularTask("grid", mdp, alpha).simulator() if simulator else None, **granted)
