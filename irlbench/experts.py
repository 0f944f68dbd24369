"""The MuJoCo track's committed experts (envs.mujoco.experts has the details).

    from irlbench.experts import load_expert
    ex = load_expert("hopper", fixed_horizon=False)
    ex.env_id            # "Hopper-v4": the gymnasium id it was trained on
    ex.act(obs)          # one raw observation -> the deterministic action the environment takes
    ex.info["evaluation"]  # its measured return (50 deterministic episodes)
"""

from envs.mujoco.experts import Expert, ExpertError, ExpertVersionWarning, committed_experts, load_expert

__all__ = ["Expert", "ExpertError", "ExpertVersionWarning", "committed_experts", "load_expert"]
