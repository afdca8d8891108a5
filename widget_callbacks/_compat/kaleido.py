"""kaleido and choreographer private names (read against kaleido 1.0 to 1.5,
choreographer 1.0 to 1.4). Used by ``export`` only."""

from __future__ import annotations

import threading
from typing import Any


def server_thread(kaleido: Any) -> threading.Thread | None:
    """The thread of kaleido's sync server (``kaleido._global_server._thread``); it
    dies when the browser cannot start. ``None`` when not found."""
    server = getattr(kaleido, "_global_server", None)
    thread = getattr(server, "_thread", None)
    return thread if isinstance(thread, threading.Thread) else None


def find_browser() -> str | None:
    """The browser kaleido would start (choreographer's ``Chromium.find_browser``), or
    ``None`` when there is none; raises ``LookupError`` when that API is gone."""
    try:
        from choreographer.browsers.chromium import Chromium
    except ImportError as err:
        raise LookupError("choreographer.browsers.chromium.Chromium is gone") from err
    found = Chromium.find_browser(skip_local=False)
    return str(found) if found else None


def probe() -> dict[str, bool]:
    """Whether each private name above exists in the installed versions (the canary)."""
    import kaleido

    try:
        from choreographer.browsers.chromium import Chromium

        has_find = callable(getattr(Chromium, "find_browser", None))
    except ImportError:
        has_find = False
    kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    try:
        has_thread = server_thread(kaleido) is not None
    finally:
        kaleido.stop_sync_server(silence_warnings=True)
    return {"kaleido._global_server._thread": has_thread, "Chromium.find_browser": has_find}
