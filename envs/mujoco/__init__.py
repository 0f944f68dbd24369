"""The MuJoCo track: gymnasium MuJoCo tasks (and their fixed-horizon seals forms) with the reward
hidden from observers, the recorded SB3 PPO learner, local experts and the task interface over
them (envs.mujoco.task)."""
