"""Where a run's data comes from: the only place a path becomes a database.

A run's ``dataset`` path is one of two things, and this module is the one place that
tells them apart (by SQLite's 16-byte file header):

- `Generated`: a dataset spec (YAML), parsed once here; perflab generates the rows at a
  scale with a seed and builds (or reuses from its cache) the database.
- `Snapshot`: the user's own database (``--db``) or perflab's working copy of it; it is
  measured on a read-only snapshot and never generated nor written.

Both answer the same two questions: `build` (the database to measure, as a
`BuildReport`) and `dataset_spec` (the spec the scale sweep generates from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from perflab.database.build import BuildReport, cached_database
from perflab.database.schemaspec import database_spec
from perflab.database.snapshot import (
    is_sqlite_file,
    is_working_copy,
    load_snapshot,
    snapshot,
    snapshot_path,
)
from perflab.database.spec import DatasetSpec, load_spec

__all__ = ["Generated", "Snapshot", "Source", "load_dataset_spec", "open_source"]


@dataclass(frozen=True)
class Generated:
    """Rows perflab generates from ``spec`` at ``scale`` (``seed`` None: the spec's own)."""

    spec: DatasetSpec
    scale: str
    seed: int | None = None

    def build(self, *, progress: bool = True) -> BuildReport:
        """The database for this spec, scale and seed: from the cache, or built once."""
        return cached_database(self.spec, self.scale, seed=self.seed, progress=progress)

    def dataset_spec(self) -> DatasetSpec:
        return self.spec


@dataclass(frozen=True)
class Snapshot:
    """The user's database at ``path`` (or perflab's working copy of one), measured as it is."""

    path: Path
    seed: int | None = None
    busy_timeout: float = 5.0

    def build(self, *, progress: bool = True) -> BuildReport:
        """A BuildReport for the database: the working copy if ``path`` is one, else a fresh
        snapshot of the user's file (scale 'existing', from_cache False). ANALYZE and
        everything else run on the copy; the user's file is only read."""
        del progress  # a snapshot is one copy: nothing to report along the way
        p = Path(self.path).expanduser().resolve()
        rep = (
            load_snapshot(p)
            if is_working_copy(p)
            else snapshot(p, snapshot_path(p), busy_timeout=self.busy_timeout)
        )
        total = sum(rep.row_counts.values())
        notes = []
        if rep.integrity:
            notes.append(f"integrity problems ({rep.integrity_check}): " + "; ".join(rep.integrity))
        if rep.virtual_tables:
            notes.append(
                "virtual tables not analysed (their storage belongs to a module): "
                + ", ".join(rep.virtual_tables)
            )
        return BuildReport(
            path=rep.path,
            scale="existing",
            seed=int(self.seed) if self.seed is not None else 0,
            row_counts=dict(rep.row_counts),
            seconds=rep.seconds,
            rows_per_s=total / rep.seconds if rep.seconds > 0 else 0.0,
            analyzed=rep.analyzed,
            dropped_duplicates={},
            cache_key="",
            from_cache=False,
            source=str(rep.source),
            notes=tuple(notes),
        )

    def dataset_spec(self) -> DatasetSpec:
        """A spec with the database's schema and, per scale, its row counts capped at
        `perflab.database.schemaspec.DEFAULT_ROWS` (the scale sweep generates synthetic data
        of the same shape; the user's rows are never copied into it)."""
        return load_spec(database_spec(self.path))


Source = Generated | Snapshot


def open_source(
    dataset: str | Path,
    *,
    scale: str = "tiny",
    seed: int | None = None,
    schema: str | Path | None = None,
) -> Source:
    """What the ``dataset`` path is: a SQLite file is a `Snapshot`; anything else is a dataset
    spec, parsed and validated now (errors name file, line and key), to be `Generated`.
    ``schema`` overrides a spec's ``schema`` key."""
    path = Path(dataset)
    if is_sqlite_file(path):
        return Snapshot(path, seed)
    return Generated(load_spec(path, schema=Path(schema) if schema else None), scale, seed)


def load_dataset_spec(path: str | Path, *, schema: str | Path | None = None) -> DatasetSpec:
    """The dataset spec behind a run's ``dataset`` path, whichever kind it is: the YAML's own,
    or one derived from a database (`Snapshot.dataset_spec`)."""
    return open_source(path, schema=schema).dataset_spec()
