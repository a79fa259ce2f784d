import sqlite3

import pytest
from perflab import paths
from perflab.errors import PerflabError
from perflab.inputs.targets import load_targets
from perflab.inputs.workload import ParamSampler, check_statement, load_workload


def test_default_workload_has_ten_queries_and_writes():
    wl, waiting = load_workload(paths.DEFAULT_WORKLOAD).at_milestone(1)
    assert len(wl.queries) == 10 and len(waiting) == 10  # the next milestone's wait
    assert {w.name for w in wl.writes} == {"memory_write", "memory_update", "event_append"}
    assert wl.concurrency[0].readers == 50


def test_default_targets_reference_known_names():
    wl = load_workload(paths.DEFAULT_WORKLOAD)
    tg = load_targets(
        paths.DEFAULT_TARGETS,
        queries={q.name for q in wl.queries},
        operations={w.name for w in wl.writes} | {c.name for c in wl.concurrency},
    )
    assert tg.for_query("task_dequeue").threshold == 10


def write(tmp_path, text):
    p = tmp_path / "w.yaml"
    p.write_text(text)
    return p


def test_yaml_error_names_file_and_line(tmp_path):
    p = write(tmp_path, "name: x\nqueries:\n  - name: a\n    sql: [unclosed\n")
    with pytest.raises(PerflabError, match=r"w\.yaml:\d+: YAML error"):
        load_workload(p)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("queries:\n  - sql: SELECT 1\n", "missing 'name'"),
        ("queries:\n  - name: a\n", "missing 'sql'"),
        ("queries:\n  - {name: a, sql: SELECT 1}\n  - {name: a, sql: SELECT 2}\n", "duplicate"),
        ("queries:\n  - {name: a, sql: 'SELECT ?', params: [{bogus: 1}]}\n", "exactly one of"),
        ("queries:\n  - {name: a, sql: SELECT 1, colour: red}\n", "unknown key 'colour'"),
        ("queries: []\n", "no queries"),
    ],
)
def test_bad_workloads(tmp_path, text, match):
    with pytest.raises(PerflabError, match=match):
        load_workload(write(tmp_path, text))


def test_unknown_target_query_is_an_error(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(
        "targets:\n  - {metric: latency_p99_ms, query: nope, comparator: '<', threshold: 1}\n"
    )
    with pytest.raises(PerflabError, match="unknown query 'nope'"):
        load_targets(p, queries={"a"}, operations=set())


def test_sampler_draws_real_rows_deterministically(tmp_path):
    c = sqlite3.connect(tmp_path / "s.db")
    c.execute("CREATE TABLE t(a, b)")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(50)])
    wl = write(
        tmp_path,
        "queries:\n  - name: q\n    sql: SELECT * FROM t WHERE a = ? AND b = ? AND ?\n"
        "    params:\n      - sample: SELECT a, b FROM t ORDER BY a\n      - values: [1]\n",
    )
    q = load_workload(wl).query("q")
    one = ParamSampler(c, q.params, seed=3).draw_many(20)
    two = ParamSampler(c, q.params, seed=3).draw_many(20)
    assert one == two and len(set(one)) > 5
    assert all(b == f"v{a}" and x == 1 for a, b, x in one)


def test_sql_errors_name_the_query(tmp_path):
    c = sqlite3.connect(tmp_path / "s.db")
    c.execute("CREATE TABLE t(a)")
    with pytest.raises(PerflabError, match="query 'q': SQL error: no such table: nope"):
        check_statement(c, "SELECT * FROM nope", 0, "query 'q'")
    with pytest.raises(PerflabError, match="query 'q': parameter mismatch"):
        check_statement(c, "SELECT * FROM t WHERE a = ?", 2, "query 'q'")
