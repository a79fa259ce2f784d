"""The former home of data generation, kept as an import path for the notebooks (05, 06),
`perflab.measure.scale` and the `stages` package.

The code lives in `perflab.database.spec` (parse and validate the YAML), `.generate`
(rows), `.build` (load, indexes, cache) and `.source` (the only place a path becomes a
database). New code imports from those.
"""

from perflab.database.build import (
    BUILD_PRAGMAS,
    BuildReport,
    build_database,
    cache_key,
    cached_database,
)
from perflab.database.generate import GENERATOR_VERSION, GeneratedTable, generate
from perflab.database.source import load_dataset_spec
from perflab.database.spec import ColumnSpec, DatasetSpec, TableSpec

__all__ = [
    "BUILD_PRAGMAS",
    "GENERATOR_VERSION",
    "BuildReport",
    "ColumnSpec",
    "DatasetSpec",
    "GeneratedTable",
    "TableSpec",
    "build_database",
    "cache_key",
    "cached_database",
    "generate",
    "load_dataset_spec",
]
