"""The notebook's Interrupt button, sent from inside a running fit (shared by tests)."""

from __future__ import annotations

import signal
from typing import Any

import keras


class InterruptAtBatch(keras.callbacks.Callback):
    """Raises SIGINT in this process once, at the end of the second batch of the fit
    (what the Interrupt button does to the kernel)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = False

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.params and batch == 1 and not self.sent:
            self.sent = True
            signal.raise_signal(signal.SIGINT)
