"""The widgets (anywidget, ipywidgets): `LivePlot` and its Keras callback, the static
copy, the controls and the dashboard. The composition root: the only layer that
imports every other one."""
