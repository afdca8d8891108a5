"""The layout's contracts, the linters and the type checker, run by the test command.

- import-linter (``[tool.importlinter]`` in pyproject.toml): the layers
  ``widgets > adapters > kernel > core``, ``export`` beside them, each ``_compat``
  module used by the layer that owns its dependency;
- no import cycles between the package's modules (imports inside functions count);
- ``core`` imports nothing outside the standard library;
- ruff (lint and format) and mypy (strict on ``core``) pass.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

import grimp
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    if shutil.which(command[0]) is None and command[0] != sys.executable:
        pytest.fail(f"{command[0]} is required: `pip install -e '.[test]'` installs it")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(
        "widget_callbacks", include_external_packages=True, exclude_type_checking_imports=True
    )


def test_import_contracts_are_kept() -> None:
    result = _run("lint-imports", "--no-cache")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    edges = {m: {d for d in graph.find_modules_directly_imported_by(m) if d in modules} for m in modules}
    cycles, state = [], dict.fromkeys(modules, 0)  # 0 new, 1 on the stack, 2 done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        stack.append(module)
        for nxt in sorted(edges[module]):
            if state[nxt] == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif state[nxt] == 0:
                visit(nxt, stack)
        stack.pop()
        state[module] = 2

    for module in sorted(modules):
        if state[module] == 0:
            visit(module, [])
    return cycles


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    # A package imports its own modules to re-export them: the package node is left
    # out, so that only module-to-module cycles count.
    modules = {m for m in graph.modules if m.startswith("widget_callbacks.")}
    modules = {m for m in modules if not any(o.startswith(m + ".") for o in modules)}
    assert _cycles(graph, modules) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    fake = grimp.ImportGraph()
    for name in ("p.a", "p.b", "p.c"):
        fake.add_module(name)
    fake.add_import(importer="p.a", imported="p.b")
    fake.add_import(importer="p.b", imported="p.c")
    fake.add_import(importer="p.c", imported="p.a")
    assert _cycles(fake, {"p.a", "p.b", "p.c"}) == [["p.a", "p.b", "p.c", "p.a"]]


def test_core_imports_only_the_standard_library(graph: grimp.ImportGraph) -> None:
    core = {
        m for m in graph.modules if m == "widget_callbacks.core" or m.startswith("widget_callbacks.core.")
    }
    outside = set()
    for module in core:
        for imported in graph.find_modules_directly_imported_by(module):
            top = imported.split(".")[0]
            if imported not in core and top not in sys.stdlib_module_names:
                outside.add((module, imported))
    assert outside == set()


def test_ruff_lint() -> None:
    result = _run("ruff", "check", "widget_callbacks", "tests")
    assert result.returncode == 0, result.stdout[-6000:]


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", "widget_callbacks", "tests")
    assert result.returncode == 0, result.stdout[-6000:]


def test_mypy() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout[-6000:]


def test_the_package_and_a_saved_history_load_without_keras(tmp_path: pathlib.Path) -> None:
    code = (
        "import sys, pathlib, widget_callbacks as wc\n"
        "plot = wc.LivePlot(static_fallback=False)\n"
        "plot.end_epoch(1, {'loss': 0.9, 'val_loss': 1.0})\n"
        f"folder = pathlib.Path({str(tmp_path)!r})\n"
        "plot.save_history(folder / 'run.json')\n"
        "again = wc.LivePlot.from_history(folder / 'run.json', static_fallback=False)\n"
        "again.save(folder / 'run.html'); wc.save_history(again, folder / 'run.csv')\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip() == "[]"
    assert (tmp_path / "run.html").stat().st_size > 0 and (tmp_path / "run.csv").read_text().startswith(
        "epoch"
    )
