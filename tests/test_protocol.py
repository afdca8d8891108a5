"""The protocol is defined once, as data: widget_callbacks/core/protocol.json.

Python reads it (core/protocol.py); the front end imports the same file
(js/src/protocol.js; js/test/protocol.test.js checks its exports against it).
"""

from __future__ import annotations

import json
import pathlib
import re

from widget_callbacks.core import protocol

ROOT = pathlib.Path(__file__).resolve().parents[1]
JSON = ROOT / "widget_callbacks" / "core" / "protocol.json"


def test_python_constants_come_from_the_json_file():
    data = json.loads(JSON.read_text(encoding="utf-8"))
    assert protocol.PROTOCOL == data
    assert protocol.MSG_EXTEND == data["messages"]["extend"]
    assert list(protocol.STATUSES) == data["statuses"]
    assert [
        protocol.STATUS_WAITING,
        protocol.STATUS_TRAINING,
        protocol.STATUS_FINISHED,
        protocol.STATUS_STOPPED,
        protocol.STATUS_FAILED,
    ] == data["statuses"]
    assert list(protocol.PROGRESS_KEYS) == data["progress_keys"]
    assert protocol.DEFAULT_HEIGHT == data["sizes"]["default_height"]


def test_the_js_protocol_imports_the_json_file_and_writes_no_value_twice():
    text = (ROOT / "js" / "src" / "protocol.js").read_text(encoding="utf-8")
    assert "widget_callbacks/core/protocol.json" in text
    for status in protocol.STATUSES:
        assert f'"{status}"' not in text, f"{status!r} is written in protocol.js"


def test_no_module_writes_a_status_or_a_colour_of_the_palette_itself():
    package = ROOT / "widget_callbacks"
    colours = set(protocol.PALETTE.values())
    for path in package.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for colour in colours:
            assert colour not in source, f"{path.relative_to(ROOT)} writes {colour}"
        for status in protocol.STATUSES:
            assert not re.search(rf"""status\s*[=!]=\s*["']{status}["']""", source), (path, status)


def test_the_traits_named_in_the_protocol_are_the_widgets_synced_traits():
    from widget_callbacks import LivePlot

    synced = set(LivePlot.class_trait_names(sync=True))
    assert set(protocol.TRAITS.values()) <= synced
