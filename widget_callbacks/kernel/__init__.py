"""Kernel plumbing (IPython, ipykernel, imported lazily and feature-detected): the
running kernel, the one cell watcher, event routing, steering and reconnect."""
