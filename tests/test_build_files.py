"""The Pants BUILD files stay true to the packages, checked without Pants (which needs Python 3.9).

BUILD files are Python syntax, so they are read with :mod:`ast`. For every distribution (``packages/*``
and ``plugins/*``) the checks are what ``pants tailor --check`` and ``pants dependencies`` would
catch, plus what Pants cannot know:

- every ``.py`` file is owned by a target of its folder's BUILD file, and every explicit dependency
  address names a target that exists;
- the ``python_distribution`` has the ``pyproject.toml`` name, version and entry points;
- the cosmos packages a distribution's sources import, the ones its ``pyproject.toml`` depends on
  and the ones its source BUILD files name are the same set;
- every third-party module the sources import is declared in ``pyproject.toml`` (dependencies or
  an extra) and owned by ``3rdparty/python/requirements.txt`` (Pants' requirements), and every
  declared dependency is imported;
- the tests' third-party imports are in ``requirements-dev.txt``.

``make pants-check`` runs Pants itself on the same graph.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import attrs
import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
PROJECTS = sorted(
    p.parent for pattern in ("packages/*/pyproject.toml", "plugins/*/pyproject.toml") for p in REPO.glob(pattern)
)
BUILD_ROOTS = [REPO / "tests", REPO / "benchmarks", *PROJECTS]
SKIPPED_DIRS = {"__pycache__", ".venv", "build", "dist", "results"}

# Pants' default ``sources`` of each target type (pants.backend.python.target_types, 2.17).
TEST_GLOBS = ("test_*.py", "*_test.py", "tests.py")
DEFAULT_SOURCES = {
    "python_sources": (("*.py", "*.pyi"), (*TEST_GLOBS, "conftest.py", "test_*.pyi", "*_test.pyi", "tests.pyi")),
    "python_tests": (TEST_GLOBS, ()),
    "python_test_utils": (("conftest.py", "test_*.pyi", "*_test.pyi", "tests.pyi"), ()),
}
TARGET_TYPES = {*DEFAULT_SOURCES, "python_distribution", "python_requirements", "resources"}
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@attrs.frozen
class Target:
    build: Path
    kind: str
    name: str
    sources: tuple[str, ...] | None
    dependencies: tuple[str, ...]
    fields: dict[str, object]

    def owns(self, file: Path) -> bool:
        if self.kind not in DEFAULT_SOURCES:
            return False
        include, exclude = DEFAULT_SOURCES[self.kind]
        if self.sources is not None:
            include, exclude = self.sources, ()
        relative = file.relative_to(self.build.parent).as_posix()
        return _matches(relative, include) and not _matches(relative, exclude)


def _matches(relative: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(relative, g) or fnmatch.fnmatchcase(relative, g.replace("**/", "")) for g in globs)


def canonical(name: str) -> str:
    """A distribution name as packaging normalises it (``PyYAML`` → ``pyyaml``, ``a_b`` → ``a-b``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    match = _REQUIREMENT_NAME.match(spec)
    assert match, f"cannot read a requirement name from {spec!r}"
    return canonical(match.group(1))


def read_requirements(path: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {requirement_name(line) for line in lines if line and not line.startswith("-")}


@cache
def build_targets(build: Path) -> tuple[Target, ...]:
    """The targets one BUILD file declares, read from its syntax tree."""
    tree = ast.parse(build.read_text(), filename=str(build))
    targets = []
    for statement in tree.body:
        assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call), (
            f"{build}:{statement.lineno}: only target declarations belong in a BUILD file"
        )
        call = statement.value
        assert isinstance(call.func, ast.Name) and call.func.id in TARGET_TYPES, (
            f"{build}:{call.lineno}: unknown target type {ast.unparse(call.func)}"
        )
        fields = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg != "provides"}
        provides = next((kw.value for kw in call.keywords if kw.arg == "provides"), None)
        if isinstance(provides, ast.Call):
            fields["provides"] = {kw.arg: ast.literal_eval(kw.value) for kw in provides.keywords}
        sources = fields.get("sources")
        targets.append(
            Target(
                build=build,
                kind=call.func.id,
                name=str(fields.get("name", build.parent.name)),
                sources=tuple(sources) if sources is not None else None,
                dependencies=tuple(fields.get("dependencies", ())),
                fields=fields,
            )
        )
    return tuple(targets)


def build_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("BUILD")):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
            yield path


def python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
            yield path


def resolve_address(address: str, build: Path) -> tuple[Path, str]:
    """``(BUILD folder, target name)`` of a Pants address as written in ``build``."""
    path, _, name = address.partition(":")
    folder = build.parent if not path else REPO / path
    return folder, name or folder.name


def first_party_modules() -> dict[str, Path]:
    """``{import name: project folder}`` of every cosmos package in the repository."""
    return {src.name: project for project in PROJECTS for src in (project / "src").iterdir() if src.is_dir()}


@cache
def file_imports(file: Path) -> tuple[tuple[str, int], ...]:
    """``(top-level module, line)`` of every absolute import of a file, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
        if isinstance(node, ast.Import):
            found += [(alias.name.split(".")[0], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
    return tuple(found)


def top_level_imports(files: Iterator[Path]) -> dict[str, str]:
    """``{top-level module: first file:line importing it}``."""
    found: dict[str, str] = {}
    for file in files:
        for module, line in file_imports(file):
            found.setdefault(module, f"{file.relative_to(REPO)}:{line}")
    return found


@cache
def installed_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distribution_of(module: str) -> str:
    """The distribution providing an import name (installed ones by their metadata)."""
    installed = installed_distributions().get(module)
    return canonical(installed[0]) if installed else canonical(module)


def third_party(imports: dict[str, str], local: frozenset[str] = frozenset()) -> dict[str, str]:
    """The distributions of the imports that are neither stdlib, cosmos packages nor ``local`` modules."""
    ours = first_party_modules().keys() | local
    return {
        distribution_of(module): where
        for module, where in imports.items()
        if module not in sys.stdlib_module_names and module not in ours and module != "__future__"
    }


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]


def declared(project: Path) -> tuple[set[str], set[str]]:
    """``(dependencies, dependencies of every extra)`` of a pyproject, as canonical names."""
    meta = pyproject(project)
    extras = {requirement_name(spec) for specs in meta.get("optional-dependencies", {}).values() for spec in specs}
    return {requirement_name(spec) for spec in meta.get("dependencies", [])}, extras


def project_id(project: Path) -> str:
    return project.relative_to(REPO).as_posix()


def test_every_python_file_is_owned_by_a_target():
    unowned = [
        str(file.relative_to(REPO))
        for root in BUILD_ROOTS
        for file in python_files(root)
        if not (file.parent / "BUILD").is_file() or not any(t.owns(file) for t in build_targets(file.parent / "BUILD"))
    ]
    assert not unowned, "no BUILD target owns these files (run `pants tailor ::` or add a BUILD file):\n" + "\n".join(
        unowned
    )


def test_every_dependency_address_names_a_target():
    broken = []
    for build in [REPO / "BUILD", *(b for root in BUILD_ROOTS for b in build_files(root))]:
        for target in build_targets(build):
            for address in target.dependencies:
                folder, name = resolve_address(address, build)
                build_file = folder / "BUILD"
                if not build_file.is_file() or name not in {t.name for t in build_targets(build_file)}:
                    broken.append(f"{build.relative_to(REPO)}: {target.kind} {target.name!r} depends on {address!r}")
    assert not broken, "dependency addresses with no such target:\n" + "\n".join(broken)


def test_every_sources_glob_matches_a_file():
    """What Pants warns about as unmatched globs: an explicit glob, or a test target's defaults, owning nothing."""
    unmatched = []
    for build in (b for root in BUILD_ROOTS for b in build_files(root)):
        folder = build.parent
        for target in build_targets(build):
            if target.sources is not None:
                missing = [g for g in target.sources if not any(p.is_file() for p in folder.glob(g))]
            elif target.kind in ("python_tests", "python_test_utils"):
                owned = any(target.owns(p) for p in folder.iterdir() if p.is_file())
                missing = [] if owned else list(DEFAULT_SOURCES[target.kind][0])
            else:
                continue
            if missing:
                unmatched.append(f"{build.relative_to(REPO)}: {target.kind} {target.name!r}: {', '.join(missing)}")
    assert not unmatched, "sources globs that match no file (drop them or the target):\n" + "\n".join(unmatched)


@pytest.mark.parametrize("project", PROJECTS, ids=project_id)
def test_distribution_matches_pyproject(project):
    meta = pyproject(project)
    (distribution,) = [t for t in build_targets(project / "BUILD") if t.kind == "python_distribution"]
    provides = distribution.fields["provides"]
    assert (provides["name"], provides["version"]) == (meta["name"], meta["version"])
    entry_points = {group: dict(points) for group, points in meta.get("entry-points", {}).items()}
    if meta.get("scripts"):
        entry_points["console_scripts"] = dict(meta["scripts"])
    assert distribution.fields.get("entry_points", {}) == entry_points


@pytest.mark.parametrize("project", PROJECTS, ids=project_id)
def test_first_party_dependencies_agree(project):
    """The cosmos packages imported, declared in pyproject.toml and named in the source BUILD files."""
    ours = first_party_modules()
    own = {name for name, folder in ours.items() if folder == project}
    imported = {m for m in top_level_imports(python_files(project / "src")) if m in ours} - own
    names = {canonical(pyproject(ours[m])["name"]): m for m in ours}
    in_pyproject = {names[d] for d in declared(project)[0] if d in names}
    in_build = set()
    for build in build_files(project / "src"):
        for target in build_targets(build):
            for address in target.dependencies:
                folder, _ = resolve_address(address, build)
                if folder.parent.name == "src" and folder.name in ours and folder.name not in own:
                    in_build.add(folder.name)
    where = project_id(project)
    assert imported == in_pyproject, (
        f"{where}: sources import {sorted(imported)}, pyproject.toml depends on {sorted(in_pyproject)}"
    )
    assert in_build == imported, (
        f"{where}: source BUILD files depend on {sorted(in_build)}, sources import {sorted(imported)}"
    )


@pytest.mark.parametrize("project", PROJECTS, ids=project_id)
def test_third_party_imports_are_declared(project):
    imports = third_party(top_level_imports(python_files(project / "src")))
    dependencies, extras = declared(project)
    undeclared = [f"{dist} ({where})" for dist, where in sorted(imports.items()) if dist not in dependencies | extras]
    assert not undeclared, (
        f"{project_id(project)}: imported but not in pyproject.toml dependencies or extras: {', '.join(undeclared)}"
    )
    names = {canonical(pyproject(p)["name"]) for p in PROJECTS}
    unused = sorted(dependencies - names - set(imports))
    assert not unused, f"{project_id(project)}: pyproject.toml depends on {unused} but no source imports them"


@pytest.mark.parametrize("project", PROJECTS, ids=project_id)
def test_pants_requirements_cover_the_dependencies(project):
    requirements = read_requirements(REPO / "3rdparty/python/requirements.txt")
    dependencies, extras = declared(project)
    names = {canonical(pyproject(p)["name"]) for p in PROJECTS}
    missing = sorted((dependencies | extras) - names - requirements)
    assert not missing, (
        f"{project_id(project)}: not in 3rdparty/python/requirements.txt, so Pants cannot own: {missing}"
    )


def test_test_imports_are_in_requirements_dev():
    dev = read_requirements(REPO / "requirements-dev.txt")
    runtime = {d for project in PROJECTS for d in set.union(*declared(project))}
    tests = [p for root in (REPO / "tests", *(p / "tests" for p in PROJECTS)) for p in python_files(root)]
    # sibling modules a test puts on sys.path (a worker script), and the benchmark scripts' own modules
    helpers = frozenset(p.stem for p in (*tests, *python_files(REPO / "benchmarks")))
    imports = third_party(top_level_imports(iter(tests)), helpers)
    missing = [f"{dist} ({where})" for dist, where in sorted(imports.items()) if dist not in dev | runtime]
    assert not missing, "tests import packages that requirements-dev.txt does not install: " + ", ".join(missing)
