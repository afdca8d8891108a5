"""Export (plotly, kaleido): the figure, images and files. Never IPython, widgets or
Keras: it takes a `PlotState` (or anything with a ``state`` that is one)."""
