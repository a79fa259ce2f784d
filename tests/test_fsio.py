"""Files perflab writes share like ordinary files: the user's umask, not mkstemp's 0600."""

from __future__ import annotations

import os
import stat

from perflab import fsio
from perflab.fsio import atomic_write_text, share_mode


def test_atomic_write_gives_the_umask_mode(tmp_path, monkeypatch):
    monkeypatch.setattr(fsio, "UMASK", 0o022)
    p = atomic_write_text(tmp_path / "a" / "page.html", "<p>x</p>")
    assert stat.S_IMODE(p.stat().st_mode) == 0o644
    assert p.read_text() == "<p>x</p>"
    monkeypatch.setattr(fsio, "UMASK", 0o077)
    p = atomic_write_text(tmp_path / "private.txt", "x")
    assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_share_mode_for_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(fsio, "UMASK", 0o022)
    d = tmp_path / "d"
    d.mkdir(mode=0o700)
    share_mode(d, folder=True)
    assert stat.S_IMODE(d.stat().st_mode) == 0o755


def test_umask_is_restored_after_reading_it():
    current = os.umask(0o022)
    os.umask(current)
    assert current == fsio.UMASK


def test_read_text_names_the_file_and_what_it_was_for(tmp_path):
    import pytest
    from perflab.errors import PerflabError
    from perflab.fsio import read_text

    p = tmp_path / "app.sql"
    with pytest.raises(PerflabError, match=r"app\.sql: schema file not found$"):
        read_text(p, "schema file")
    p.write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(PerflabError, match=r"app\.sql: cannot read schema file: .*utf-8"):
        read_text(p, "schema file")
    p.write_text("CREATE TABLE t(x);")
    assert read_text(p, "schema file") == "CREATE TABLE t(x);"
