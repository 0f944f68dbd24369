"""The Python API, end to end (about 30 s here):

    .venv/bin/python examples/api_example.py

Runs the single-file plugin and LfL on the gridworld learners at the smoke profile into a store of
its own, puts the records side by side with pandas, and prints the report of those records.
"""

import irlbench

STORE = "runs/api-example"
PLUGIN = "examples/plugins/batch_progress.py"

plugin = irlbench.run("gridworld", profile="smoke", seeds=2, store=STORE, plugins=[PLUGIN],
                      overrides={"method.name": "batch_progress"})
lfl = irlbench.run("gridworld", profile="smoke", seeds=2, store=STORE, only={"method.name": "lfl"})
df = irlbench.records(STORE)  # every record of the store: the two runs above
print(df.pivot_table(index="learner", columns="method", values="normalized_score").round(2))
print(irlbench.report(df))
