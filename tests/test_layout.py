"""The code location is laid out as the data flows, and its imports run only downstream.

`orchestration/` holds one folder per stage, in the order the data passes through them;
a module may import from its own stage and from earlier ones, never from a later one
(ingest knows nothing of dbt; serving knows nothing of schedules). Only the modules that
assemble the stages sit at the root.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

from orchestration.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "orchestration"
# Earlier stages first. Runtime (how a run executes) is used by every stage and uses none.
STAGES = ("runtime", "extract", "ingest", "transform", "quality", "serve", "automation")
# settings is read by every stage; the other root modules assemble the stages.
ROOT_MODULES = {"__init__", "settings", "definitions", "resources", "cli"}
ASSEMBLERS = {"definitions", "resources", "cli"}
# One name every stage has on purpose: its Definitions, as Dagster's open platform project does.
SHARED_NAMES = {"__init__", "definitions"}


def _rank(module: str) -> int:
    """Return a module's place in the flow: settings first, the assemblers last."""
    parts = module.split(".")
    if parts[1] in STAGES:
        return STAGES.index(parts[1]) + 1
    return 0 if parts[1] == "settings" else len(STAGES) + 1


def _module(path: Path) -> str:
    return ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Return each orchestration module a file imports (``from a import b`` as ``a.b``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name.startswith("orchestration.")]


def _target(name: str) -> str:
    """Return the module an imported name lives in (a name imported from a module drops)."""
    parts = name.split(".")
    while len(parts) > 1 and not ((REPO_ROOT / Path(*parts)).with_suffix(".py").exists()
                                  or (REPO_ROOT / Path(*parts)).is_dir()):
        parts.pop()
    return ".".join(parts)


def _backward(path: Path, module: str) -> list[str]:
    """Return the imports of one file that run from a later stage into an earlier one."""
    return [f"{module}:{line} -> {target}" for line, name in _imports(path)
            if (target := _target(name)) != "orchestration" and _rank(target) > _rank(module)]


def backward_imports(root: Path = PACKAGE) -> list[str]:
    """Return every import from a later stage into an earlier one, as `module:line -> b`."""
    return [offence for path in sorted(root.rglob("*.py"))
            for offence in _backward(path, _module(path))]


def test_no_stage_imports_a_later_one() -> None:
    assert backward_imports() == []


def test_the_rule_catches_an_import_that_runs_upstream(tmp_path: Path) -> None:
    """A deliberately bad import (the loader reading the serving stage) is reported."""
    loader = tmp_path / "loader.py"
    text = (PACKAGE / "ingest" / "loader.py").read_text()
    loader.write_text(text + "from orchestration.serve.publication import publish\n")
    assert _backward(loader, "orchestration.ingest.loader") == [
        f"orchestration.ingest.loader:{text.count(chr(10)) + 1} -> "
        "orchestration.serve.publication"]


def test_the_root_holds_only_what_assembles_the_stages() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == ROOT_MODULES
    assert folders == set(STAGES)
    for stage in STAGES:
        assert (PACKAGE / stage / "definitions.py").exists(), f"{stage} has no Definitions"


def test_no_module_is_named_twice() -> None:
    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem not in SHARED_NAMES)
    assert [name for name, count in names.items() if count > 1] == []


def test_the_pipeline_never_imports_the_simulator() -> None:
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.startswith("source_simulator")], path


def test_importing_the_stages_prepares_no_dbt_project() -> None:
    """Every module but the code location itself imports without touching dbt: the project
    is built (and, under `dagster dev`, parsed) on first use, never at import."""
    modules = sorted(_module(p) for p in PACKAGE.rglob("*.py")
                     if p.stem != "__init__" and _module(p) != "orchestration.definitions")
    script = ("import importlib, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module(name)\n"
              "from orchestration.transform.dbt_project import dbt_project\n"
              "print(dbt_project.cache_info().currsize)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO_ROOT, check=True)
    assert result.stdout.strip() == "0"


def test_the_simulator_has_no_module_over_400_lines() -> None:
    """One module per source system and a small world model, none of them a hub."""
    package = REPO_ROOT / "source_simulator"
    sizes = {p.name: p.read_text().count("\n") for p in package.glob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > 400} == {}
