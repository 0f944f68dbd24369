"""irlbench's Python API, for notebooks and scripts: run a suite into a store and get its records
as a pandas DataFrame, read a store's records, build the report from a DataFrame (benchmark/api.py
has the details). The command line `irlbench` is built on the same functions.

    import irlbench
    df = irlbench.run("gridworld", profile="smoke", seeds=2, overrides={"method.name": "lfl"})
    print(irlbench.report(df))
"""

from benchmark.api import DEFAULT_STORE, execute, load_plugins, records, report, run, trials
from benchmark.suite_files import ConfigError

__all__ = ["DEFAULT_STORE", "ConfigError", "execute", "load_plugins", "records", "report", "run", "trials"]


def __getattr__(name: str):
    if name == "__version__":  # read on demand: importing irlbench stays instant
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("irlbench")
        except PackageNotFoundError:
            return "unknown (not installed)"
    raise AttributeError(f"module 'irlbench' has no attribute {name!r}")
