"""Fixtures for the browser tests: one JupyterLab server per session (a Notebook 7
server only if a test asks for it), one headless Chromium, one page and one
kernel per test. See ``jupyter.py`` for the helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .jupyter import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, JupyterServer, NotebookPage, _slug

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _server(kind: str) -> Iterator[JupyterServer]:
    if shutil.which("jupyter") is None:
        pytest.skip("jupyter is not installed")
    base = Path(tempfile.mkdtemp(prefix=f"wc-{kind}-"))
    server = JupyterServer(kind, base).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def jupyter_lab() -> Iterator[JupyterServer]:
    """A ``jupyter lab`` server for the whole session."""
    yield from _server("lab")


@pytest.fixture(scope="session")
def jupyter_notebook() -> Iterator[JupyterServer]:
    """A Notebook 7 server, started the first time a test asks for it."""
    yield from _server("notebook")


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running on the main thread
    # while it is open, which would break later tests that call asyncio.run() or start
    # their own Playwright. The Jupyter servers stay session-wide.
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make install` installs it (apt-get install chromium)")
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def _screenshot_if_failed(pg, request) -> None:
    rep = getattr(request.node, "rep_call", None)
    if rep is None or not rep.failed or pg.is_closed():
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{_slug(request.node.name)}-failed.png"), full_page=True)
    except Exception:
        pass


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page (1400x1000) for one test. On failure a
    screenshot is saved under artifacts/browser/."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        _screenshot_if_failed(pg, request)
        context.close()


def _open_factory(server: JupyterServer, pg, request):
    opened: list[NotebookPage] = []

    def open_notebook(name: str, *, ready: bool = True) -> NotebookPage:
        nb = NotebookPage(pg, server, name, test_name=request.node.name).open()
        if ready:
            nb.wait_kernel_ready()
        opened.append(nb)
        return nb

    return open_notebook, opened


@pytest.fixture
def lab(jupyter_lab, page, request):
    """``lab(name)`` opens ``name`` (already in ``jupyter_lab.root_dir``) in
    JupyterLab and waits for its kernel. Kernels are shut down and root_dir
    emptied after the test."""
    open_notebook, _ = _open_factory(jupyter_lab, page, request)
    try:
        yield open_notebook
    finally:
        _screenshot_if_failed(page, request)
        page.context.close()
        jupyter_lab.shutdown_kernels()
        jupyter_lab.clean_root()


@pytest.fixture
def notebook7(jupyter_notebook, page, request):
    """Like ``lab`` for Notebook 7."""
    open_notebook, _ = _open_factory(jupyter_notebook, page, request)
    try:
        yield open_notebook
    finally:
        _screenshot_if_failed(page, request)
        page.context.close()
        jupyter_notebook.shutdown_kernels()
        jupyter_notebook.clean_root()
