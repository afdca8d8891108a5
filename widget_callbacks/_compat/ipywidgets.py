"""ipywidgets private names (read against ipywidgets 7.7 to 8.1). Used by ``widgets``
only."""

from __future__ import annotations

from typing import Any

#: The method of ``ipywidgets.Widget`` that applies one front-end message (state and
#: events); overridden by the controls to take their lock around it.
HANDLE_MSG = "_handle_msg"


def handle_msg(widget_class: type, widget: Any, msg: dict[str, Any]) -> None:
    """Calls the ``_handle_msg`` that ``widget_class``'s parents define."""
    getattr(super(widget_class, widget), HANDLE_MSG)(msg)


def probe() -> dict[str, bool]:
    """Whether each private name above exists in the installed ipywidgets (the canary)."""
    import ipywidgets

    return {"Widget._handle_msg": callable(getattr(ipywidgets.Widget, HANDLE_MSG, None))}
