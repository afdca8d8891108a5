"""Drive JupyterLab 4 and Notebook 7 from a test: servers, pages, cells, widgets.

Everything here waits for a *state* (an element, a kernel status, a file the
kernel wrote) with a timeout; nothing sleeps and hopes. A wait that times out
raises :class:`HarnessTimeout` with what it waited for, the state it last saw and
a screenshot saved under ``artifacts/browser/`` at the repository root.

The pieces:

- :class:`JupyterServer`: ``jupyter lab`` or ``jupyter notebook`` on 127.0.0.1 on a
  free port, with HOME and every Jupyter/IPython/Keras folder in a temporary
  directory; notebooks are written or copied into its ``root_dir``; kernels are
  shut down over REST before the server is stopped by its PID.
- :class:`NotebookPage`: one notebook open in a Playwright page: run cells, wait
  busy/idle, save, reload, read outputs, click widget buttons, set sliders,
  interrupt, take screenshots.
- Kernel -> test reports: a cell calls ``_report(name, **data)`` (defined by
  :data:`REPORT_CELL`), which writes ``_reports/NAME.json`` atomically next to the
  notebook; the test polls for it with :func:`wait_for_report`.

Facts this relies on are in ``shared/FACTS.md`` ("Driving JupyterLab from a test").
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]

#: Default timeouts in seconds (two shared cores: generous, but finite).
SERVER_TIMEOUT = 60.0
KERNEL_TIMEOUT = 90.0
UI_TIMEOUT = 30.0

#: Source of a cell defining ``_report(name, **data)``: writes
#: ``_reports/<name>.json`` (atomically: temp file + ``os.replace``) in the
#: kernel's working directory, which is the notebook's folder. ``data`` gets
#: ``time`` (``time.time()``) and ``thread`` (the handler's thread name) added.
REPORT_CELL = """\
import json as _json, os as _os, threading as _threading, time as _time

def _report(_name, **data):
    data.setdefault("time", _time.time())
    data.setdefault("thread", _threading.current_thread().name)
    _os.makedirs("_reports", exist_ok=True)
    _tmp = _os.path.join("_reports", f".{_name}.{_threading.get_ident()}.tmp")
    with open(_tmp, "w") as _f:
        _json.dump(data, _f)
    _os.replace(_tmp, _os.path.join("_reports", f"{_name}.json"))
"""


class HarnessTimeout(AssertionError):
    """A wait ran out of time; the message says what and where the screenshot is."""


# --------------------------------------------------------------------------- files


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120] or "shot"


def write_notebook(path: Path, cells: Iterable[str | tuple[str, str]]) -> Path:
    """Write a notebook of code cells (or ``("markdown", text)`` tuples) with the
    ``python3`` kernelspec, so that no kernel-selection dialog appears."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    for cell in cells:
        if isinstance(cell, tuple):
            kind, source = cell
            nb.cells.append(
                nbformat.v4.new_markdown_cell(source)
                if kind == "markdown"
                else nbformat.v4.new_code_cell(source)
            )
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook as saved on disk (plain JSON)."""
    return json.loads(Path(path).read_text())


def wait_for_report(
    folder: Path,
    name: str,
    timeout: float = UI_TIMEOUT,
    *,
    until: Callable[[dict[str, Any]], bool] | None = None,
    page: NotebookPage | None = None,
    abort_on_error: bool = False,
) -> dict[str, Any]:
    """Poll for ``folder/_reports/NAME.json`` written by ``_report`` in the kernel.

    With ``until``, keep polling until the parsed report satisfies it (the report
    is overwritten by later calls). On timeout, a screenshot is taken if ``page``
    is given and the last content seen is in the message. With
    ``abort_on_error`` (needs ``page``), fail at once when a cell shows an error
    (run-all stops there, so the report would never come).
    """
    path = Path(folder) / "_reports" / f"{name}.json"
    deadline = time.monotonic() + timeout
    last: Any = None
    next_error_check = 0.0
    while True:
        if abort_on_error and page is not None and time.monotonic() >= next_error_check:
            next_error_check = time.monotonic() + 1.0
            errors = page.errors()
            if errors:
                shot = page.screenshot(f"error-before-report-{name}")
                raise AssertionError(
                    f"a cell failed while waiting for kernel report {name!r}: "
                    + "; ".join(f"cell {e['index']}: {e['ename']}: {e['evalue']}" for e in errors)
                    + f"; screenshot: {shot}"
                )
        try:
            last = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            pass
        else:
            if until is None or until(last):
                return last
        if time.monotonic() > deadline:
            what = f"kernel report {path} " + ("to appear" if until is None else "to satisfy the predicate")
            shot = page.screenshot(f"timeout-report-{name}") if page is not None else None
            raise HarnessTimeout(
                f"Timed out after {timeout:.0f} s waiting for {what}; last content: {last!r}"
                + (f"; screenshot: {shot}" if shot else "")
            )
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- server


@dataclass
class JupyterServer:
    """A ``jupyter lab`` (kind="lab") or ``jupyter notebook`` (kind="notebook") server.

    ``base_dir`` is a private temporary folder: HOME, the Jupyter/IPython/Keras
    folders and ``root`` (the server's root_dir, where tests put notebooks) live in
    it. The repository root is put first on the kernel's PYTHONPATH, so notebooks
    import the working tree's ``widget_callbacks``. ``python`` runs the server (e.g.
    the JupyterLab 4.2 venv's); ``kernel_python`` runs the ``python3`` kernel, written
    as a kernelspec in the server's data folder when it is not the server's own.
    """

    kind: str
    base_dir: Path
    python: str = sys.executable
    kernel_python: str = sys.executable
    port: int = 0
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    _opener: urllib.request.OpenerDirector | None = field(default=None, repr=False)
    _cookies: http.cookiejar.CookieJar | None = field(default=None, repr=False)

    @property
    def root_dir(self) -> Path:
        return self.base_dir / "root"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        if self.kind == "lab":
            return f"{self.base_url}/lab/tree/{name}?reset"
        return f"{self.base_url}/notebooks/{name}"

    def env(self) -> dict[str, str]:
        home = self.base_dir / "home"
        env = dict(os.environ)
        env.update(
            HOME=str(home),
            JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
            JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
            JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
            IPYTHONDIR=str(home / ".ipython"),
            KERAS_HOME=str(home / ".keras"),
            MPLCONFIGDIR=str(home / ".config/matplotlib"),
            TF_ENABLE_ONEDNN_OPTS="0",
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        )
        env.pop("JUPYTER_PATH", None)
        # A server in a venv prefers the venv's kernelspecs; ours (kernel_python) is the user's.
        env["JUPYTER_PREFER_ENV_PATH"] = "0"
        env.pop("JUPYTERLAB_SETTINGS_DIR", None)
        env.pop("JUPYTERLAB_WORKSPACES_DIR", None)
        return env

    def command(self) -> list[str]:
        common = [
            "--no-browser",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.ip=127.0.0.1",
            f"--port={self.port}",
            "--allow-root",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.port_retries=0",
        ]
        if self.kind == "lab":
            return [  # `-m jupyterlab`, not `-m jupyter lab`: the latter finds jupyter-lab on PATH
                self.python,
                "-m",
                "jupyterlab",
                *common,
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ]
        if self.kind == "notebook":
            return [
                self.python,
                "-m",
                "notebook",
                *common,
                "--JupyterNotebookApp.expose_app_in_browser=True",
            ]
        raise ValueError(f"kind must be 'lab' or 'notebook'. Received: kind={self.kind!r}")

    def start(self, timeout: float = SERVER_TIMEOUT) -> JupyterServer:
        for sub in ("home", "root"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        # No "get notified about Jupyter news?" toast over the outputs; nothing else
        # differs from a fresh user's settings.
        if self.kernel_python != self.python:
            spec = Path(self.env()["JUPYTER_DATA_DIR"]) / "kernels" / "python3"
            spec.mkdir(parents=True, exist_ok=True)
            argv = [self.kernel_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            (spec / "kernel.json").write_text(
                json.dumps({"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"})
            )
        settings = Path(self.env()["JUPYTER_CONFIG_DIR"]) / "lab/user-settings/@jupyterlab/apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        venv = "" if self.python == sys.executable else f"-{Path(self.python).parents[1].name}"
        self.log_path = ARTIFACTS / f"jupyter-{self.kind}{venv}.log"
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            log = open(self.log_path, "w")
            self.proc = subprocess.Popen(
                self.command(),
                env=self.env(),
                cwd=self.root_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    last_error = f"exited with {self.proc.returncode}"
                    break
                try:
                    with urllib.request.urlopen(f"{self.base_url}/api/status", timeout=2) as r:
                        if r.status == 200:
                            self._init_session()
                            return self
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                time.sleep(0.1)
            else:
                self._kill()
                raise HarnessTimeout(
                    f"jupyter {self.kind} did not answer /api/status within {timeout:.0f} s; "
                    f"log: {self.log_path}\n{self._log_tail()}"
                )
        raise RuntimeError(f"jupyter {self.kind} {last_error}; log: {self.log_path}\n{self._log_tail()}")

    def _log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except (OSError, AttributeError):
            return ""

    def _init_session(self) -> None:
        """Fetch a page so that the server sets the ``_xsrf`` cookie we send back."""
        self._cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))
        page = "/lab" if self.kind == "lab" else "/tree"
        with self._opener.open(self.base_url + page, timeout=10) as r:
            r.read()

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """REST call with the ``_xsrf`` cookie sent back as ``X-XSRFToken``."""
        assert self._opener is not None and self._cookies is not None, "server not started"
        xsrf = next((c.value for c in self._cookies if c.name == "_xsrf"), "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("X-XSRFToken", xsrf)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with self._opener.open(req, timeout=timeout) as r:
            text = r.read().decode()
        return json.loads(text) if text else None

    def kernels(self) -> list[dict[str, Any]]:
        return self.api("GET", "/api/kernels")

    def shutdown_kernels(self) -> list[str]:
        """Delete every session and kernel (tests run one at a time). Returns kernel ids."""
        ids: list[str] = []
        if self.proc is None or self.proc.poll() is not None:
            return ids
        for s in self.api("GET", "/api/sessions"):
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/sessions/{s['id']}")
        for k in self.kernels():
            ids.append(k["id"])
            with contextlib.suppress(urllib.error.HTTPError):
                self.api("DELETE", f"/api/kernels/{k['id']}")
        return ids

    def stop(self) -> None:
        """Shut kernels down over REST, then stop the server by its PID."""
        if self.proc is None:
            return
        try:
            self.shutdown_kernels()
        except Exception as exc:
            print(f"warning: shutting kernels down failed: {exc!r}", file=sys.stderr)
        self._kill()

    def _kill(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    # -- notebooks in root_dir
    def write_notebook(self, name: str, cells: Iterable[str | tuple[str, str]]) -> Path:
        return write_notebook(self.root_dir / name, cells)

    def copy_notebook(self, src: Path, name: str | None = None, kernel: str = "python3") -> Path:
        """Copy a notebook into root_dir with its kernelspec set to ``kernel`` (a
        kernelspec this server has, so no kernel-selection dialog appears)."""
        nb = read_notebook(src)
        nb.setdefault("metadata", {})["kernelspec"] = {
            "name": kernel,
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        dest = self.root_dir / (name or Path(src).name)
        dest.write_text(json.dumps(nb, indent=1))
        return dest

    def clean_root(self) -> None:
        """Empty root_dir (between tests)."""
        for p in self.root_dir.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()


# --------------------------------------------------------------------------- page

# JS prelude: find the NotebookPanel for `path` in JupyterLab or Notebook 7.
_PANEL = """
const __panel = (path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  const cur = app.shell.currentWidget;
  if (cur && cur.context && cur.context.path === path && cur.content) return cur;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path && w.content) return w;
  }
  return null;
};
"""


def _js(body: str) -> str:
    """A JS function ``(arg) => {...}`` with ``__panel`` in scope; ``arg.path`` is
    the notebook path."""
    return f"(arg) => {{ {_PANEL} {body} }}"


class NotebookPage:
    """One notebook open in a Playwright page on a :class:`JupyterServer`."""

    def __init__(self, page: Any, server: JupyterServer, name: str, test_name: str = "test"):
        self.page = page
        self.server = server
        self.name = name
        self.test_name = _slug(test_name)
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on(
            "pageerror",
            lambda e: self.console.append(f"pageerror: {e.message} | {(e.stack or '').splitlines()[1:4]}"),
        )

    @property
    def folder(self) -> Path:
        """Folder of the notebook on disk (the kernel's working directory)."""
        return (self.server.root_dir / self.name).parent

    @property
    def path(self) -> Path:
        return self.server.root_dir / self.name

    # -- failure reporting
    def screenshot(self, label: str, locator: Any = None, path: Path | None = None) -> Path | None:
        """Save a PNG of the page (or of ``locator``) under artifacts/browser/ (or
        ``path``). Never raises: returns None when the shot could not be taken."""
        dest = path or ARTIFACTS / f"{self.test_name}-{_slug(label)}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            (locator or self.page).screenshot(path=str(dest))
        except Exception:
            return None
        return dest

    def fail(self, what: str, timeout: float, seen: Any = None) -> HarnessTimeout:
        shot = self.screenshot(f"timeout-{what}")
        console = "\n  ".join(self.console[-15:])
        return HarnessTimeout(
            f"Timed out after {timeout:.0f} s waiting for {what}"
            + (f"; last seen: {seen!r}" if seen is not None else "")
            + f"; screenshot: {shot}"
            + (f"\n  browser console (last lines):\n  {console}" if console else "")
        )

    def evaluate(self, body: str, **arg: Any) -> Any:
        """Run JS ``body`` (may use ``await``, ``arg``, ``__panel(arg.path)``)."""
        arg.setdefault("path", self.name)
        return self.page.evaluate(f"async {_js(body)}", arg)

    def wait_js(
        self, body: str, what: str, timeout: float = UI_TIMEOUT, probe: str | None = None, **arg: Any
    ) -> Any:
        """Wait until the JS ``body`` returns a truthy value; return that value.

        ``probe`` is JS returning a description of the current state, put in the
        failure message.
        """
        from playwright.sync_api import TimeoutError as PWTimeout

        arg.setdefault("path", self.name)
        try:
            handle = self.page.wait_for_function(_js(body), arg=arg, timeout=timeout * 1000, polling=100)
        except PWTimeout:
            seen = None
            if probe:
                with contextlib.suppress(Exception):
                    seen = self.page.evaluate(_js(probe), arg)
            raise self.fail(what, timeout, seen) from None
        return handle.json_value()

    # -- opening, kernel
    def open(self, timeout: float = UI_TIMEOUT) -> NotebookPage:
        """Go to the notebook's URL and wait until its panel is the current widget."""
        self.page.goto(self.server.notebook_url(self.name), timeout=timeout * 1000)
        self._wait_panel(timeout)
        return self

    def reload(self, timeout: float = UI_TIMEOUT) -> NotebookPage:
        """Reload the page (same URL) and wait for the notebook's panel again. The
        server keeps the session, so the page reconnects to the same kernel."""
        self.page.reload(timeout=timeout * 1000)
        self._wait_panel(timeout)
        return self

    def _wait_panel(self, timeout: float) -> None:
        self.wait_js(
            """const p = __panel(arg.path);
               if (!p || !p.context.isReady) return false;
               p.node.setAttribute('data-wc-path', arg.path);
               return true;""",
            f"the notebook panel for {self.name}",
            timeout,
            probe="return {app: !!window.jupyterapp, current: window.jupyterapp && window.jupyterapp.shell.currentWidget && window.jupyterapp.shell.currentWidget.title.label};",
        )

    def wait_kernel_ready(self, timeout: float = KERNEL_TIMEOUT, idle: bool = True) -> str:
        """Wait for ``sessionContext.ready`` and then ``kernel.info``, then (with
        ``idle``) for the execution indicator to show idle; return the kernel id.
        ``kernel.info`` needs a kernel_info reply from the main shell, so this
        waits for a running cell to end: after a reload mid-run use
        :meth:`wait_kernel_connected`."""
        start = time.monotonic()
        kernel = self.wait_js(
            """const p = __panel(arg.path);
               if (!p) return false;
               if (!window.__wcReady) window.__wcReady = {};
               const st = window.__wcReady;
               if (!st[arg.path]) {
                 st[arg.path] = 'waiting';
                 (async () => {
                   await p.sessionContext.ready;
                   const k = p.sessionContext.session && p.sessionContext.session.kernel;
                   if (!k) { st[arg.path] = undefined; return; }
                   await k.info;
                   st[arg.path] = k.id;
                 })().catch(e => { st[arg.path] = undefined; });
               }
               return st[arg.path] !== 'waiting' && st[arg.path];""",
            f"the kernel of {self.name} to be ready (sessionContext.ready, kernel.info)",
            timeout,
            probe=self._kernel_probe,
        )
        if idle:
            self.wait_idle(max(1.0, timeout - (time.monotonic() - start)))
        return kernel

    def wait_kernel_connected(self, timeout: float = KERNEL_TIMEOUT) -> str:
        """Wait until the page's kernel connection is open (no kernel_info needed:
        works while a cell runs). Returns the kernel id."""
        return self.wait_js(
            """const p = __panel(arg.path);
               const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
               return !!k && k.connectionStatus === 'connected' && k.id;""",
            f"the kernel connection of {self.name}",
            timeout,
            probe=self._kernel_probe,
        )

    _kernel_probe = """const p = __panel(arg.path);
        const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
        return k ? {status: k.status, connection: k.connectionStatus, id: k.id}
                 : {panel: !!p, session: !!(p && p.sessionContext.session)};"""

    def kernel_id(self) -> str | None:
        return self.evaluate(
            """const p = __panel(arg.path);
               const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
               return k ? k.id : null;"""
        )

    # -- running
    def command(self, command_id: str, args: dict[str, Any] | None = None, wait: bool = True) -> None:
        """Execute a JupyterLab command; with ``wait=False`` do not await its promise."""
        self.evaluate(
            """const app = window.jupyterapp;
               const p = __panel(arg.path);
               if (p) { app.shell.activateById(p.id); }
               if (!app.commands.hasCommand(arg.id)) throw new Error('no command ' + arg.id);
               const r = app.commands.execute(arg.id, arg.args || {});
               if (arg.wait) await r;""",
            id=command_id,
            args=args or {},
            wait=wait,
        )

    def run_all(self) -> None:
        """Run all cells without awaiting them (the promise would wait for every cell)."""
        self.command("notebook:run-all-cells", wait=False)

    def run_cell(self, index: int) -> None:
        """Make cell ``index`` active and run it, without awaiting it."""
        self.evaluate(
            """const p = __panel(arg.path);
               window.jupyterapp.shell.activateById(p.id);
               p.content.activeCellIndex = arg.index;
               p.content.deselectAll();""",
            index=index,
        )
        self.command("notebook:run-cell", wait=False)

    def execution_status(self) -> str | None:
        """``data-status`` of the notebook's execution indicator ('idle', 'busy', ...)."""
        return self.evaluate(self._status_js + "return __status();")

    _status_js = """const __status = () => {
          const p = __panel(arg.path);
          const el = (p && p.node.querySelector('.jp-Notebook-ExecutionIndicator[data-status]'))
                  || document.querySelector('.jp-Notebook-ExecutionIndicator[data-status]');
          return el ? el.getAttribute('data-status') : null;
        };"""

    def wait_status(self, statuses: str | Iterable[str], timeout: float = KERNEL_TIMEOUT) -> str:
        wanted = [statuses] if isinstance(statuses, str) else list(statuses)
        return self.wait_js(
            self._status_js + "const s = __status(); return arg.wanted.includes(s) && s;",
            f"the execution indicator of {self.name} to show {'/'.join(wanted)}",
            timeout,
            probe=self._status_js + "return __status();",
            wanted=wanted,
        )

    def wait_busy(self, timeout: float = KERNEL_TIMEOUT) -> str:
        return self.wait_status("busy", timeout)

    def wait_idle(self, timeout: float = KERNEL_TIMEOUT) -> str:
        return self.wait_status("idle", timeout)

    def wait_cells_done(self, timeout: float = KERNEL_TIMEOUT, indices: Iterable[int] | None = None) -> None:
        """Wait until the code cells (all, or ``indices``) have an execution count,
        none is queued or running (``[*]``), and the indicator shows idle. Safe to
        call right after :meth:`run_all`, before the kernel turned busy."""
        self.wait_js(
            self._status_js
            + self._cells_js
            + """
               const cells = __cells();
               return __status() === 'idle' && cells.length > 0
                      && cells.every(c => c.count !== null && !c.pending);""",
            f"cells {list(indices) if indices is not None else 'all'} of {self.name} to finish",
            timeout,
            probe=self._status_js + self._cells_js + "return {status: __status(), cells: __cells()};",
            indices=list(indices) if indices is not None else None,
        )

    _cells_js = """const __cells = () => {
          const p = __panel(arg.path);
          const out = [];
          p.content.widgets.forEach((c, i) => {
            if (c.model.type !== 'code') return;
            if (arg.indices && !arg.indices.includes(i)) return;
            const prompt = c.node.querySelector('.jp-InputPrompt');
            out.push({index: i, count: c.model.executionCount,
                      state: c.model.executionState,
                      pending: (c.model.executionState === 'running')
                               || (!!prompt && prompt.textContent.includes('*'))});
          });
          return out;
        };"""

    def interrupt(self) -> None:
        """Interrupt the kernel (``kernelmenu:interrupt``, else the notebook command)."""
        for cmd in ("kernelmenu:interrupt", "notebook:interrupt-kernel"):
            has = self.evaluate("return window.jupyterapp.commands.hasCommand(arg.id);", id=cmd)
            if has:
                self.command(cmd, wait=True)
                return
        raise AssertionError("no interrupt command in this front end")

    def save(self, timeout: float = UI_TIMEOUT) -> None:
        """``docmanager:save`` and wait until the document is no longer dirty."""
        self.command("docmanager:save", wait=True)
        self.wait_js(
            "const p = __panel(arg.path); return !!p && !p.context.model.dirty;",
            f"{self.name} to be saved",
            timeout,
        )

    # -- cells and outputs
    def errors(self) -> list[dict[str, Any]]:
        """Error outputs of the notebook's cells: ``[{index, ename, evalue}]``."""
        return self.evaluate(
            """const p = __panel(arg.path);
               const out = [];
               if (!p) return out;
               p.content.widgets.forEach((c, i) => {
                 if (c.model.type !== 'code') return;
                 for (const o of c.model.outputs.toJSON()) {
                   if (o.output_type === 'error') out.push({index: i, ename: o.ename, evalue: o.evalue});
                 }
               });
               return out;"""
        )

    def cell(self, index: int) -> Any:
        """Locator of cell ``index`` (0-based) of this notebook."""
        return self.page.locator(f'[data-wc-path="{self.name}"] .jp-Notebook .jp-Cell').nth(index)

    def cell_output(self, index: int) -> Any:
        """Locator of the output area of cell ``index``."""
        return self.cell(index).locator(".jp-OutputArea").first

    def output_text(self, index: int) -> str:
        """Text of the outputs of cell ``index`` (stream, results, errors, widget text)."""
        area = self.cell_output(index)
        if area.count() == 0:
            return ""
        return area.inner_text()

    def wait_output_text(self, index: int, pattern: str, timeout: float = UI_TIMEOUT) -> re.Match:
        """Wait until the output text of cell ``index`` matches regex ``pattern``."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        text = ""
        while True:
            with contextlib.suppress(Exception):
                text = self.output_text(index)
                m = rx.search(text)
                if m:
                    return m
            if time.monotonic() > deadline:
                raise self.fail(f"output of cell {index} to match {pattern!r}", timeout, text[-500:])
            time.sleep(0.1)

    def wait_selector(self, index: int, selector: str, timeout: float = UI_TIMEOUT, count: int = 1) -> Any:
        """Wait until cell ``index``'s output holds at least ``count`` elements
        matching CSS ``selector``; return the locator of the first."""
        self.wait_js(
            """const p = __panel(arg.path);
               const c = p && p.content.widgets[arg.index];
               return !!c && c.node.querySelectorAll(arg.sel).length >= arg.count;""",
            f"{count} x {selector!r} in the output of cell {index}",
            timeout,
            probe="""const p = __panel(arg.path); const c = p && p.content.widgets[arg.index];
                     const o = c && c.node.querySelector('.jp-OutputArea');
                     return o ? o.innerText.slice(-300) : 'no output area';""",
            index=index,
            sel=selector,
            count=count,
        )
        loc = self.cell(index).locator(selector).first
        loc.scroll_into_view_if_needed()
        return loc

    def count_in_cell(self, index: int, selector: str) -> int:
        return self.evaluate(
            """const p = __panel(arg.path); const c = p && p.content.widgets[arg.index];
               return c ? c.node.querySelectorAll(arg.sel).length : 0;""",
            index=index,
            sel=selector,
        )

    # -- widgets
    def click_button(self, index: int, text: str, timeout: float = UI_TIMEOUT) -> None:
        """Click the widget button labelled ``text`` in the output of cell ``index``."""
        self.wait_selector(index, "button.widget-button, .jupyter-widgets button", timeout)
        button = self.cell_output(index).locator("button", has_text=text).first
        button.scroll_into_view_if_needed(timeout=timeout * 1000)
        button.click(timeout=timeout * 1000)

    def set_slider(
        self, index: int, value: int, method: str = "readout", nth: int = 0, timeout: float = UI_TIMEOUT
    ) -> None:
        """Set the ``nth`` ipywidgets IntSlider in cell ``index`` to ``value``.

        ``method="readout"`` types into the editable readout and presses Enter;
        ``"keyboard"`` focuses the handle and presses arrow keys. Both go through
        the slider view, which syncs the value to the kernel (check it there).
        """
        self.wait_selector(index, ".widget-slider", timeout)
        slider = self.cell_output(index).locator(".widget-slider").nth(nth)
        slider.scroll_into_view_if_needed()
        readout = slider.locator(".widget-readout")
        if method == "readout":
            readout.click()
            readout.press("Control+A")
            readout.type(str(value))
            readout.press("Enter")
        elif method == "keyboard":
            handle = slider.locator(".noUi-handle")
            handle.focus()
            for _ in range(10_000):
                current = int(readout.inner_text().strip())
                if current == value:
                    break
                handle.press("ArrowRight" if current < value else "ArrowLeft")
            else:
                raise AssertionError(f"slider did not reach {value}")
        else:
            raise ValueError(f"method must be 'readout' or 'keyboard'. Received: method={method!r}")
        deadline = time.monotonic() + timeout
        while readout.inner_text().strip() != str(value):
            if time.monotonic() > deadline:
                raise self.fail(f"slider readout to show {value}", timeout, readout.inner_text())
            time.sleep(0.05)


def wait_until(
    predicate: Callable[[], Any],
    what: str,
    timeout: float = UI_TIMEOUT,
    page: NotebookPage | None = None,
    interval: float = 0.1,
) -> Any:
    """Poll a Python predicate; return its first truthy value or raise HarnessTimeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = predicate()
        except Exception as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            if page is not None:
                raise page.fail(what, timeout, last)
            raise HarnessTimeout(f"Timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)
