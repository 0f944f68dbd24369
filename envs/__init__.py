"""Tasks, exact soft dynamic programming, learners and the observation datasets they produce."""
