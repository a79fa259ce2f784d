"""Inputs parsed once per process: the same content is not parsed again, a changed one is."""

from __future__ import annotations

import pytest
from perflab.database.schemaspec import schema_spec
from perflab.database.spec import load_spec
from perflab.errors import PerflabError
from perflab.inputs.targets import load_targets
from perflab.inputs.workload import load_workload
from perflab.sqlite.schema import introspect_ddl

DDL = "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT);\n"
WL = "name: w\nqueries:\n  - name: by_id\n    sql: SELECT k FROM t WHERE id = ?\n"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFLAB_CACHE_DIR", str(tmp_path / "cache"))


def test_the_same_spec_is_parsed_once_and_an_edited_one_again(tmp_path):
    schema = tmp_path / "s.sql"
    schema.write_text(DDL)
    path = schema_spec(schema, rows={"tiny": 10})
    first = load_spec(path)
    assert load_spec(path) is first  # nothing parsed the second time
    path.write_text(path.read_text().replace("t: 10", "t: 12"))
    edited = load_spec(path)
    assert edited is not first and edited.scales["tiny"] == {"t": 12}


def test_a_spec_is_checked_against_its_ddl_as_it_is_now(tmp_path):
    schema = tmp_path / "s.sql"
    schema.write_text(DDL)
    path = schema_spec(schema, rows={"tiny": 10})
    load_spec(path)
    schema.write_text("CREATE TABLE other (id INTEGER PRIMARY KEY);\n")  # t is gone
    with pytest.raises(PerflabError, match="t"):
        load_spec(path)


def test_ddl_is_introspected_once_per_text():
    a = introspect_ddl(DDL, "s.sql")
    assert introspect_ddl(DDL, "s.sql") is a
    b = introspect_ddl(DDL + "CREATE INDEX t_k ON t(k);\n", "s.sql")
    assert b is not a and [i.name for i in b.indexes] == ["t_k"]


def test_an_error_is_not_kept_a_fixed_file_loads(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nqueries: [\n")
    with pytest.raises(PerflabError, match="YAML error"):
        load_workload(path)
    path.write_text(WL)
    wl = load_workload(path)
    assert [q.name for q in wl.queries] == ["by_id"] and load_workload(path) is wl


def test_targets_are_kept_per_content_and_per_known_names(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "source: test\ntargets:\n  - {metric: latency_p99_ms, query: by_id, threshold: 5,"
        " comparator: '<'}\n"
    )
    tg = load_targets(path, queries={"by_id"}, operations=set())
    assert load_targets(path, queries={"by_id"}, operations=set()) is tg
    with pytest.raises(PerflabError, match="by_id"):  # same file, a workload without by_id
        load_targets(path, queries={"other"}, operations=set())
