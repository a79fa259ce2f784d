"""Typed, versioned stage records: what one stage measured, as the run folder keeps it.

A record is a frozen dataclass. Its saved fields are written, with the record's
``format_version`` and ``stage``, to ``<run_dir>/results/<stage>.json`` (`results.save`), and
read back into the same dataclass by `Record.load`; the summary and the verdict read
records, never a stage's dict by key. Fields made with `shown()` carry what the notebook
displays (DataFrames, plans) and are not saved; fields made with `part()` hold another
stage's record, saved under its own stage key (notebook 04 saves three).

A stage function takes the run's `perflab.inputs.context.RunContext` (made by the front
door, `prepare`, on the inputs floor below this one).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from perflab import results
from perflab.errors import PerflabError

R = TypeVar("R", bound="Record")


def shown(default: Any = None) -> Any:
    """A field the notebook displays but the run folder does not keep."""
    return field(default=default, compare=False, repr=False, metadata={"saved": False})


def part(record: type[Record]) -> Any:
    """A field holding another stage's record, saved and loaded under its own key."""
    return field(default=None, metadata={"saved": False, "record": record})


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple):  # a tuple of dataclasses (`_decode` rebuilds them)
        return [_plain(v) for v in value]
    return value


def _decode(hint: Any, value: Any) -> Any:
    """A JSON value as the field's type: a dataclass rebuilt, a list as a tuple."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        known = {f.name for f in fields(hint)}
        return hint(**{k: _decode(hints[k], v) for k, v in value.items() if k in known})
    if typing.get_origin(hint) is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_decode(inner, v) for v in value)
    return value


@dataclass(frozen=True)
class Record:
    """Base of every stage record; subclasses set `STAGE` (the results file's name)."""

    STAGE: ClassVar[str] = ""
    FORMAT_VERSION: ClassVar[int] = 1

    def content(self) -> dict:
        """The saved fields as plain JSON types: what summary.json carries under the stage."""
        return {
            f.name: results.to_jsonable(_plain(getattr(self, f.name)))
            for f in fields(self)
            if f.metadata.get("saved", True)
        }

    def to_json(self) -> dict:
        return {"format_version": self.FORMAT_VERSION, "stage": self.STAGE, **self.content()}

    @classmethod
    def from_json(cls: type[R], data: Any, where: str = "") -> R:
        """The record back from its JSON; a wrong stage, version or missing field raises."""
        where = where or f"results/{cls.STAGE}.json"
        if not isinstance(data, dict) or data.get("stage") != cls.STAGE:
            raise PerflabError(f"{where}: not a {cls.STAGE!r} stage record")
        if data.get("format_version") != cls.FORMAT_VERSION:
            raise PerflabError(
                f"{where}: {cls.STAGE} record format_version {data.get('format_version')!r}; "
                f"this perflab reads {cls.FORMAT_VERSION}"
            )
        return cls.of(data, where=where, envelope=("format_version", "stage"))

    @classmethod
    def of(cls: type[R], data: dict, *, where: str = "", envelope=(), **shown_fields: Any) -> R:
        """The record from a stage's dict (as the measuring functions return it), plus the
        fields it shows. A key the record does not know, or a field missing, raises: a
        measured figure is never dropped on the way to the run folder."""
        where = where or f"{cls.STAGE} record"
        saved = [f for f in fields(cls) if f.metadata.get("saved", True)]
        unknown = sorted(set(data) - {f.name for f in saved} - set(envelope))
        if unknown:
            raise PerflabError(f"{where}: {cls.STAGE} record has no field {unknown[0]!r}")
        hints = typing.get_type_hints(cls)
        kwargs = dict(shown_fields)
        for f in saved:
            if f.name in data:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
            elif f.default is MISSING and f.default_factory is MISSING:
                raise PerflabError(f"{where}: {cls.STAGE} record lacks {f.name!r}")
        return cls(**kwargs)

    def save(self: R, run_dir: str | Path | None) -> R:
        """Write this record and the records it holds (`part`); no run folder, no files.
        Returns the record, so a stage ends in `return Record(...).save(ctx.run_dir)`."""
        results.save(run_dir, self.STAGE, self.to_json())
        for f in fields(self):
            sub = getattr(self, f.name)
            if f.metadata.get("record") and sub is not None:
                sub.save(run_dir)
        return self

    @classmethod
    def load(cls: type[R], run_dir: str | Path) -> R | None:
        """The record a run folder holds, with its parts; None when the stage did not run."""
        data = results.load(run_dir, cls.STAGE)
        if data is None:
            return None
        rec = cls.from_json(data, str(Path(run_dir) / "results" / f"{cls.STAGE}.json"))
        parts = {
            f.name: f.metadata["record"].load(run_dir)
            for f in fields(cls)
            if f.metadata.get("record")
        }
        return dataclasses.replace(rec, **parts) if parts else rec
