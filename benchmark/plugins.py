"""Methods from outside the package: plugins.

Two ways in, one registration:
- an installed package that declares an entry point in the group `irlbench.methods`
  (`name = "package.module:Class"`), loaded by every command that needs methods;
- `--plugin MODULE_OR_FILE.py` (repeatable): a module name or a Python file; every IRLMethod
  subclass the module or file *defines* is registered (those it imports are not).

A plugin method is a method like the built-in ones: validated here when it is registered (its
declarations and its Config's defaults, by the same rules as a trial config's), listed, resolved
and checked by benchmark/config.py. What it is made of goes into its trial config's `plugin` key
(module, a hash of its source files, its distribution's version), so two versions of a plugin never
share a trial id; the record keeps the source's kind and path beside it.

Ray workers are other processes: `shipment` says how a worker gets the plugins a run's trials use
(a file's own text travels with the trials, so a cluster node runs exactly the hashed source; a
module or package is imported by name, from the driver's path on a local Ray and from Ray's
`runtime_env` py_modules on a cluster), and `ensure` loads them there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.suite_files import PROFILES, ConfigError

ENTRY_POINT_GROUP = "irlbench.methods"
TRACKS = ("tabular", "mujoco")
USES = ("sequence", "demonstrations")
OBSERVATIONS = ("trajectories", "policies")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


class PluginError(ConfigError):
    """A plugin that cannot be imported or whose method is not a valid one (bad input: exit 2)."""


@dataclass(frozen=True)
class PluginSource:
    """Where a plugin method comes from. kind: "entry point", "module" or "file"; module: the
    module that defines the class; sha256: a hash of its source (a file: the file's text; a module
    of a package: every .py file of its top-level package); version: its distribution's version
    ("" for a file or a module no distribution installed); path: its source file."""

    kind: str
    module: str
    sha256: str
    version: str
    path: str
    distribution: str = ""  # the installed distribution that holds the module ("" for none)

    def identity(self) -> dict[str, str]:
        """What goes into the trial config (and so the trial id): what the code is, not where it lies."""
        return {"module": self.module, "sha256": self.sha256, "version": self.version}


SOURCES: dict[str, PluginSource] = {}  # plugin method name -> its source
BROKEN: dict[str, str] = {}  # an installed entry point that did not load -> why (an error once it is used)
_FILE_TEXTS: dict[str, str] = {}  # a file plugin's module name -> the text it was loaded from (shipped to workers)
# a module's source as this process first imported it: a module is imported once, so its hash stays the
# hash of the code that runs (a notebook that edits a package and loads it again keeps the old code)
_MODULE_SOURCES: dict[tuple[str, str], PluginSource] = {}
_entry_points_loaded = False


def load_entry_points() -> list[str]:
    """Registers the methods of every installed package's `irlbench.methods` entry points (once a
    process); returns their names."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return [name for name, s in SOURCES.items() if s.kind == "entry point"]
    from importlib.metadata import entry_points

    import warnings

    names = []
    _entry_points_loaded = True
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        where = f"the entry point {point.name!r} = {point.value!r} of {_distribution(point)}"
        # one broken installed package does not stop every command: its method is unavailable (a
        # warning now, bad input where a run names it), the other methods run
        try:
            cls = point.load()
            if getattr(cls, "name", None) != point.name:
                raise PluginError(f"plugin {where} names a class whose name is {getattr(cls, 'name', None)!r}: the "
                                  "entry point's name must be the method's name")
            dist = getattr(point, "dist", None)
            register(cls, module_source("entry point", sys.modules[cls.__module__], dist.metadata["Name"] if dist else ""),
                     where)
        except Exception as error:  # an import error of any kind is the plugin's: one line
            BROKEN[point.name] = str(error) if isinstance(error, PluginError) else \
                f"plugin {where} failed to import: {type(error).__name__}: {error}"
            warnings.warn(f"{BROKEN[point.name]}; method {point.name!r} is unavailable", PluginWarning)
            continue
        names.append(point.name)
    return names


class PluginWarning(UserWarning):
    """An installed plugin that could not be loaded (its method is unavailable)."""


def load(spec: str) -> list[str]:
    """Imports a --plugin (a module name, or a file: SPEC ends in .py or holds a '/') and registers
    the IRLMethod subclasses it defines; returns their names."""
    if spec.endswith(".py") or "/" in spec:
        module, source = _load_file(spec)
    else:
        if os.getcwd() not in sys.path:  # as `python -m` would: a module beside you is found
            sys.path.append(os.getcwd())
        try:
            module = importlib.import_module(spec)
        except Exception as error:
            raise PluginError(f"plugin {spec!r} failed to import: {type(error).__name__}: {error}") from None
        source = module_source("module", module, _distribution_of(module))
    classes = defined_methods(module)
    if not classes:
        raise PluginError(f"plugin {spec!r} defines no IRLMethod subclass (a class with name, uses, Config and fit; "
                          "see examples/plugins/)")
    for cls in classes:
        register(cls, source, f"plugin {spec!r}")
    return [cls.name for cls in classes]


def load_all(specs: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The entry points' methods and each --plugin's; returns the plugin method names."""
    names = load_entry_points()
    for spec in specs:
        names += load(spec)
    return names


def _load_file(spec: str) -> tuple[types.ModuleType, PluginSource]:
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise PluginError(f"no plugin file at {spec!r}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise PluginError(f"cannot read the plugin file {spec}: {error}") from None
    name = file_module_name(path, text)
    module = exec_source(name, text, str(path), spec)
    return module, PluginSource("file", name, hashlib.sha256(text.encode()).hexdigest(), "", str(path))


def file_module_name(path: Path, text: str) -> str:
    """The module a plugin file becomes: irlbench_plugin_<stem>_<hash of its text> (never an installed
    module's name; two files of one name are two modules, one file moved elsewhere the same)."""
    stem = re.sub(r"\W", "_", path.stem)
    return f"irlbench_plugin_{stem}_{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def exec_source(name: str, text: str, filename: str, spec: str) -> types.ModuleType:
    """A module made from a file's text (the driver's file, or the text shipped to a worker)."""
    if name in sys.modules and _FILE_TEXTS.get(name) == text:
        return sys.modules[name]
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module  # before it runs: dataclasses look their module up there
    try:
        exec(compile(text, filename, "exec"), module.__dict__)
    except Exception as error:
        del sys.modules[name]
        raise PluginError(f"plugin {spec!r} failed to import: {type(error).__name__}: {error}") from None
    _FILE_TEXTS[name] = text
    return module


def defined_methods(module: types.ModuleType) -> list[type]:
    """The IRLMethod subclasses a module defines (not those it imports), abstract bases excepted."""
    from methods.base import IRLMethod

    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, IRLMethod) and cls.__module__ == module.__name__ and "name" in vars(cls)]


def register(cls: type, source: PluginSource, where: str) -> None:
    """Adds a plugin method to the registry after checking it (PluginError naming what is wrong)."""
    from methods.registry import BUILTIN, METHODS

    try:
        problem = method_problem(cls)
    except Exception as error:  # a declaration malformed beyond what the checks expect
        problem = f"malformed declarations: {type(error).__name__}: {error}"
    if problem:
        raise PluginError(f"{where}: {cls.__name__}: {problem}")
    name = cls.name
    if name in BUILTIN:
        raise PluginError(f"{where} defines a method named {name!r}, like the built-in one: give it a name of its "
                          "own (built-in methods cannot be replaced)")
    known = SOURCES.get(name)
    if known is not None and known.identity() != source.identity() and known.path != source.path:
        # (the same code from elsewhere, or the same file edited, replaces the one registered)
        raise PluginError(f"{where} defines a method named {name!r}, as the plugin {SOURCES[name].path or SOURCES[name].module} "
                          "does: two plugins cannot share a method name")
    METHODS[name] = cls
    SOURCES[name] = source


def method_problem(cls: type) -> str | None:
    """What makes `cls` not a valid method, or None: the declarations the pipeline reads and each
    Config's defaults (every field defaulted, JSON values, within the field's declared range)."""
    from benchmark.references import REFERENCES
    from methods.base import IRLMethod

    if not (isinstance(cls, type) and issubclass(cls, IRLMethod)):
        return "not a subclass of methods.base.IRLMethod"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return f"name must be lower-case letters, digits and underscores, starting with a letter, got {name!r}"
    if name in REFERENCES:
        return f"the name {name!r} is a reference row's"
    if not isinstance(cls.__dict__.get("Config", getattr(cls, "Config", None)), type):
        return "Config must be the method's config dataclass (per-track forms may add `configs`)"
    if not isinstance(cls.configs, dict):
        return f"configs must map tracks to config dataclasses, got {cls.configs!r}"
    if inspect.isabstract(cls):
        return f"does not implement {', '.join(sorted(cls.__abstractmethods__))}"
    if getattr(cls, "uses", None) not in USES:
        return f"uses must be one of {', '.join(USES)}, got {getattr(cls, 'uses', None)!r}"
    for attribute, valid in (("tracks", TRACKS), ("observations", OBSERVATIONS)):
        value = getattr(cls, attribute)
        if not value or not set(value) <= set(valid):
            return f"{attribute} must be a non-empty set of {', '.join(valid)}, got {sorted(value)!r}"
    unknown = set(cls.configs) - set(cls.tracks)
    if unknown:
        return f"configs names tracks the method has no form for: {', '.join(sorted(unknown))}"
    for track in sorted(cls.tracks):
        config = cls.config_class(track)
        problem = config_problem(config)
        if problem:
            return f"its {config.__name__}: {problem}"
        owner = config if "profiles" in vars(config) else cls
        for profile, values in getattr(owner, "profiles", {}).items():
            fields = {f.name for f in dataclasses.fields(config)}
            if profile not in PROFILES or not isinstance(values, dict) or not set(values) <= fields:
                return (f"profiles must map profiles ({', '.join(PROFILES)}) to {config.__name__} fields, got "
                        f"{profile!r}: {values!r}")
    resources = getattr(cls, "resources", {})
    if not (isinstance(resources, dict) and isinstance(resources.get("cpu", 1), (int, float)) and resources.get("cpu", 1) > 0
            and isinstance(resources.get("gpu", 0), (int, float)) and resources.get("gpu", 0) >= 0):
        return f"resources must be {{'cpu': n > 0, 'gpu': n >= 0}}, got {resources!r}"
    return None


def config_problem(config: type) -> str | None:
    """What makes a method's Config not a valid one, or None."""
    from envs.config_fields import check_fields

    if not (dataclasses.is_dataclass(config) and isinstance(config, type)):
        return "Config must be a dataclass"
    if not config.__dataclass_params__.frozen:
        return "Config must be frozen (@dataclass(frozen=True)): a trial's config never changes"
    fields = dataclasses.fields(config)
    missing = [f.name for f in fields if f.default is dataclasses.MISSING]
    if missing:
        return f"every field needs a default (a trial config is the defaults plus overrides): {', '.join(missing)}"
    if "name" in {f.name for f in fields}:
        return "a field may not be called 'name' (section.name selects the method)"
    defaults = {f.name: f.default for f in fields}
    try:
        json.dumps(defaults, allow_nan=False)
    except (TypeError, ValueError) as error:
        return f"defaults must be JSON values (bool, int, float, str, lists): {error}"
    try:
        check_fields(config, defaults, "method")
    except ValueError as error:
        return f"a default is out of its declared range: {error}"
    return None


def package_hash(module: types.ModuleType) -> str:
    """sha256 over the source of a module's top-level package (every .py file, by relative path; a
    namespace package too), or of the module's own file when it is not in a package."""
    root = import_root(module.__name__)
    if not root:
        raise PluginError(f"plugin {module.__name__!r} has no source file to hash (a built-in or frozen module)")
    top = Path(root) / module.__name__.split(".")[0]
    files = sorted(top.rglob("*.py")) if top.is_dir() else [top.with_suffix(".py")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def module_source(kind: str, module: types.ModuleType, distribution: str, shipped_version: str = "") -> PluginSource:
    """The source of a module or entry-point plugin (the same on the driver and on a worker), hashed
    when this process first imported it. A cluster node that has the package only as Ray's upload
    (no installed distribution) takes the driver's version: the hash says the code is the same."""
    from importlib.metadata import PackageNotFoundError, version

    key = (kind, module.__name__)
    if key not in _MODULE_SOURCES:
        try:
            found = version(distribution) if distribution else ""
        except PackageNotFoundError:
            found = shipped_version
        path = str(Path(module.__file__).resolve()) if getattr(module, "__file__", None) else ""
        _MODULE_SOURCES[key] = PluginSource(kind, module.__name__, package_hash(module), found, path, distribution)
    return _MODULE_SOURCES[key]


def _distribution(point) -> str:
    dist = getattr(point, "dist", None)
    return f"{dist.metadata['Name']} {dist.version}" if dist is not None else "an installed package"


def _distribution_of(module: types.ModuleType) -> str:
    """The installed distribution that provides a module's top-level package ("" for none)."""
    from importlib.metadata import packages_distributions

    return next(iter(packages_distributions().get(module.__name__.split(".")[0], [])), "")


def source_of(method: str) -> PluginSource | None:
    return SOURCES.get(method)


# ----- Ray workers ----------------------------------------------------------------------------

def shipment(configs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What a worker needs to load the plugin methods `configs` use: a file plugin's text, a
    module's name and the directory it is imported from."""
    out, seen = [], set()
    for config in configs:
        source = SOURCES.get(config["method"]["name"])
        if source is None or source.module in seen:
            continue
        seen.add(source.module)
        if source.kind == "file":
            out.append({"kind": "file", "module": source.module, "path": source.path, "text": _FILE_TEXTS[source.module]})
        else:
            out.append({"kind": source.kind, "module": source.module, "path_entry": import_root(source.module),
                        "distribution": source.distribution, "path": source.path, "version": source.version,
                        "methods": sorted(n for n, s in SOURCES.items() if s.module == source.module)})
    return out


def import_root(module: str) -> str:
    """The sys.path directory a module's top-level package is imported from ("" if unknown): up
    from the module's own file, one folder per dotted part (a namespace package has no file)."""
    found = sys.modules.get(module)
    path = Path(found.__file__).resolve() if found is not None and getattr(found, "__file__", None) else None
    if path is None:
        return ""
    depth = module.count(".") + (path.name == "__init__.py")
    return str(path.parents[depth])


def py_modules(shipped: list[dict[str, str]]) -> list[str]:
    """For a cluster's runtime_env: the package directories (or module files) of the module and
    entry-point plugins, which Ray uploads to every node (file plugins travel as text)."""
    paths = []
    for item in shipped:
        if item["kind"] != "file" and item["path_entry"]:
            top = item["module"].split(".")[0]
            package = Path(item["path_entry"]) / top
            paths.append(str(package if package.is_dir() else package.with_suffix(".py")))
    return paths


def ensure(shipped: list[dict[str, str]]) -> None:
    """In a worker: the shipped plugins loaded and registered (once a process)."""
    for item in shipped:
        if item["kind"] == "file":
            module = exec_source(item["module"], item["text"], item["path"], item["path"])
            source = PluginSource("file", item["module"], hashlib.sha256(item["text"].encode()).hexdigest(), "",
                                  item["path"])
        else:
            if item["path_entry"] and Path(item["path_entry"]).is_dir() and item["path_entry"] not in sys.path:
                sys.path.append(item["path_entry"])
            module = importlib.import_module(item["module"])
            # the driver's path in the records (a cluster node imports Ray's uploaded copy)
            source = dataclasses.replace(module_source(item["kind"], module, item["distribution"], item["version"]),
                                         path=item["path"])
        for cls in defined_methods(module):
            if item["kind"] != "file" and cls.name not in item["methods"]:
                continue  # only what the driver registered (an entry point names one class of its module)
            if SOURCES.get(cls.name) != source:
                register(cls, source, f"plugin {item['module']!r}")
