"""Benchmarks of widget_callbacks (not collected by pytest): ``python -m tests.benchmarks``.

Modules: ``bench_training`` (fit overhead of live displays in a real kernel),
``bench_messages`` (bytes per epoch update as the history grows),
``bench_frontend`` (the built bundle in headless Chromium), ``bench_stop`` (Stop
click to ``fit`` returning, in JupyterLab), ``bench_bundle`` (bundle size);
``_kernel`` drives a kernel like a front end and counts IOPub bytes; ``_report``
makes the table. See README.md.
"""
