"""Every private attribute of a dependency that widget-callbacks reads, one function each.

One module per dependency, used only by the layer that owns that dependency:
``keras`` by ``adapters``, ``ipykernel`` by ``kernel``, ``kaleido`` by ``export``,
``ipywidgets`` by ``widgets``. Each function names the version range it was read
against and degrades to a documented fallback; ``tests/test_compat.py`` probes every
one against the installed versions and fails loudly when one is gone.
"""
