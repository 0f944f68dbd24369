"""The gridworld track: finite MDPs with exact soft dynamic programming, the gridworlds, the
tabular learners and the task interface over them (envs.tabular.task)."""
