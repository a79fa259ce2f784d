"""Shared fixtures: small real SQLite files built in the test."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest


@pytest.fixture
def make_db(tmp_path: Path):
    """Create a real database file from DDL (and optional rows script)."""

    def _make(ddl: str, name: str = "t.db", rows: str = "") -> Path:
        path = tmp_path / name
        conn = sqlite3.connect(path)
        conn.executescript(ddl)
        if rows:
            conn.executescript(rows)
        conn.commit()
        conn.close()
        return path

    return _make
