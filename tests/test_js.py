"""The front end's own checks (node --test, tsc), run from the one test command."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest

JS = pathlib.Path(__file__).resolve().parents[1] / "js"


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("npm") is None:
        pytest.fail("npm is required for the front-end tests; install Node.js 20+")
    if not (JS / "node_modules").is_dir():
        pytest.fail("js/node_modules is missing: run `npm --prefix js ci` (make install does)")
    return subprocess.run(["npm", "--prefix", str(JS), *args], capture_output=True, text=True)


def test_js_helpers_pass_node_test():
    result = _npm("test")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "# fail 0" in result.stdout


def test_js_typecheck():
    result = _npm("run", "typecheck")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_bundle_is_built_small_and_offline():
    bundle = pathlib.Path(__file__).resolve().parents[1] / "widget_callbacks" / "static" / "widget.js"
    assert bundle.is_file(), "run `npm --prefix js run build`"
    size = bundle.stat().st_size
    assert size <= 1_500_000, f"bundle is {size} bytes; the budget is 1,500,000"
    text = bundle.read_text(encoding="utf-8")
    # Nothing is imported from a URL. (plotly.js keeps a default topojson URL for geo
    # traces, which the cartesian bundle cannot draw; browser tests block the network.)
    assert not re.search(r"""import\s*\(?\s*["']https?:""", text)
    assert not re.search(r"""from\s*["']https?:""", text)


def test_stylesheet_is_built_for_anywidget_css():
    """The styles are a file (anywidget's ``_css``), no longer a string in the bundle."""
    static = pathlib.Path(__file__).resolve().parents[1] / "widget_callbacks" / "static"
    css = static / "widget.css"
    assert css.is_file(), "run `npm --prefix js run build`"
    text = css.read_text(encoding="utf-8")
    for selector in (".wc-root", ".wc-bar-fill", ".wc-download", ".wc-empty"):
        assert selector in text
    assert "@import" not in text and "url(" not in text, "nothing is fetched"
    assert "--jp-ui-font-family" not in (static / "widget.js").read_text(encoding="utf-8")
