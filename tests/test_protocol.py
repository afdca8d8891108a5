"""The protocol is defined once per side: js/src/protocol.js must mirror _protocol.py."""

from __future__ import annotations

import json
import pathlib
import re

from widget_callbacks import _protocol

JS_PROTOCOL = pathlib.Path(__file__).resolve().parents[1] / "js" / "src" / "protocol.js"


def _js_constants() -> dict[str, object]:
    text = JS_PROTOCOL.read_text(encoding="utf-8")
    found = re.findall(r"^export const (\w+) = (.+);$", text, flags=re.MULTILINE)
    return {name: json.loads(value) for name, value in found}


def test_every_python_constant_is_mirrored_in_js():
    js = _js_constants()
    python = {
        name: (list(value) if isinstance(value, tuple) else value)
        for name, value in vars(_protocol).items()
        if name.isupper()
    }
    assert python, "no constants found in _protocol.py"
    assert js == python
