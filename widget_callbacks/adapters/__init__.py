"""Keras adapters: Keras hooks and objects mapped onto the pure core. Never widgets or
export (one stated exception: displaying a controller shows its panel)."""
