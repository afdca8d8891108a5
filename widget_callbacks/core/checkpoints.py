"""Bookkeeping of the checkpoint files that were really written.

Pure Python: imports neither keras nor ipywidgets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from typing import Any

from .records import CheckpointRecord

_FIELDS = tuple(f.name for f in fields(CheckpointRecord))


class CheckpointLog:
    """An append-only list of `CheckpointRecord`s, safe to read from any thread.

    Args:
        records: records to start with. Defaults to none.

    Example:

    >>> log = CheckpointLog()
    >>> _ = log.add(CheckpointRecord(epoch=1, path="ckpt/01.keras", value=0.5))
    >>> len(log), log.records[0].epoch, log.paths
    (1, 1, ['ckpt/01.keras'])
    >>> CheckpointLog.from_dicts(log.to_dicts()).records == log.records
    True
    """

    def __init__(self, records: Iterable[CheckpointRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._records: list[CheckpointRecord] = []
        for record in records:
            self.add(record)

    def add(self, record: CheckpointRecord) -> CheckpointRecord:
        """Appends a record.

        Args:
            record: the `CheckpointRecord` of a file that was really written.

        Returns:
            The record.
        """
        if not isinstance(record, CheckpointRecord):
            raise TypeError(
                f"record must be a CheckpointRecord. Received: {record!r} of type {type(record).__name__}"
            )
        if isinstance(record.epoch, bool) or not isinstance(record.epoch, int) or record.epoch < 1:
            raise ValueError(f"record.epoch must be an int >= 1 (1-based). Received: epoch={record.epoch!r}")
        with self._lock:
            self._records.append(record)
        return record

    @property
    def records(self) -> tuple[CheckpointRecord, ...]:
        """The records, oldest first (a copy)."""
        with self._lock:
            return tuple(self._records)

    @property
    def paths(self) -> list[str]:
        """The distinct paths written, in order of their first write."""
        return list(dict.fromkeys(r.path for r in self.records))

    def reset(self) -> None:
        """Forgets every record."""
        with self._lock:
            self._records.clear()

    def to_dicts(self) -> list[dict[str, Any]]:
        """The records as plain (JSON-ready) dicts."""
        return [r.to_dict() for r in self.records]

    @classmethod
    def from_dicts(cls, data: Iterable[Mapping[str, Any]]) -> CheckpointLog:
        """Rebuilds a log from `to_dicts` output; unknown keys are ignored.

        Args:
            data: dicts with ``epoch`` and ``path`` and optionally the other
                `CheckpointRecord` fields (``batch``, ``value``, ...).

        Returns:
            A new `CheckpointLog`.
        """
        log = cls()
        for item in data:
            missing = [k for k in ("epoch", "path") if k not in item]
            if missing:
                raise ValueError(
                    f"a checkpoint record needs the keys 'epoch' and 'path'. "
                    f"Missing: {missing}. Received: {dict(item)!r}"
                )
            log.add(CheckpointRecord(**{k: item[k] for k in _FIELDS if k in item}))
        return log

    def __getstate__(self) -> dict[str, Any]:
        return {"_records": list(self.records)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._records = list(state["_records"])

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[CheckpointRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        return f"CheckpointLog({len(self)} records)"
