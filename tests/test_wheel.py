"""The wheel built from this checkout ships the front-end bundle, and imports and renders from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            "-q",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("widget_callbacks-*.whl")
    return built


def test_wheel_holds_the_bundle_and_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "widget_callbacks/static/widget.js" in names
        assert "widget_callbacks/py.typed" in names
        js = [i for i in archive.infolist() if i.filename.endswith((".js", ".mjs"))]
        total = sum(i.file_size for i in js)
    assert total <= 1_500_000, f"{total} bytes of JS in the wheel; the budget is 1,500,000"


def test_wheel_imports_and_renders_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    code = (
        "import widget_callbacks as w, pathlib;"
        "assert pathlib.Path(w.__file__).parent.parent == pathlib.Path(r'%s');"
        "plot = w.LivePlot(static_fallback=False);"
        "bundle = plot._repr_mimebundle_();"
        "data = bundle[0] if isinstance(bundle, tuple) else bundle;"
        "assert 'application/vnd.jupyter.widget-view+json' in data;"
        "assert 'export default' in plot._esm or 'export{' in plot._esm.replace(' ', '');"
        "print('ok', len(plot._esm))"
    ) % (tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("ok")
