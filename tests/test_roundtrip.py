"""Values survive capture -> YAML -> replay bit for bit, for every SQLite storage class
and the common Python adapters (property tests with a seeded generator)."""

from __future__ import annotations

import math
import random
import sqlite3
import struct
import sys
from pathlib import Path

import pytest
from perflab.inputs.capture import build_workload, capture_command, group
from perflab.inputs.workload import ParamSampler, dump_typed, load_workload

I64 = (-(2**63), 2**63 - 1)
ODD_TEXT = [
    "",
    "\x00",
    "a\x00b",
    "\x85",
    "\u2028\u2029",
    "\ufeff",
    "é",
    "e\u0301",
    "👩‍💻",
    "'\"\\",
    "yes",
    "null",
    "~",
    "0x1F",
    "1e3",
    "2026-01-01",
    "- a",
    ": b",
    "#c",
    "\t\r\n",
    "\x7f",
]


def _text(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(ODD_TEXT)
    ranges = [
        (0x20, 0x7E),
        (0x00, 0x1F),
        (0x80, 0x7FF),
        (0x800, 0xD7FF),
        (0xE000, 0xFFFD),
        (0x10000, 0x10FFFF),
    ]
    out = []
    for _ in range(rng.randrange(0, 12)):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def _float(rng: random.Random) -> float:
    special = [
        0.0,
        -0.0,
        math.inf,
        -math.inf,
        5e-324,
        -5e-324,
        1.7976931348623157e308,
        2.2250738585072014e-308,
        0.1,
        1e16,
        2**53 + 0.0,
    ]
    if rng.random() < 0.4:
        return rng.choice(special)
    return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]


def _int(rng: random.Random) -> int:
    if rng.random() < 0.3:
        return rng.choice([I64[0], I64[1], 0, -1, 1, 2**31, -(2**31) - 1, 2**53 + 1])
    return rng.randint(*I64)


def _value(rng: random.Random):
    kind = rng.randrange(5)
    if kind == 0:
        return None
    if kind == 1:
        return _int(rng)
    if kind == 2:
        f = _float(rng)
        return None if math.isnan(f) else f  # SQLite stores a NaN as NULL
    if kind == 3:
        return _text(rng)
    return rng.randbytes(rng.randrange(0, 40))


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


@pytest.mark.parametrize("seed", range(25))
def test_typed_yaml_round_trip_property(tmp_path, seed):
    """Any row of SQLite values, written as a workload's rows: sampler, reads back equal
    (same Python type, floats bit for bit)."""
    rng = random.Random(seed)
    rows = [[_value(rng) for _ in range(6)] for _ in range(30)]
    doc = {
        "name": "rt",
        "queries": [{"name": "q", "sql": "SELECT ?, ?, ?, ?, ?, ?", "params": [{"rows": rows}]}],
    }
    p = tmp_path / "w.yaml"
    p.write_text(dump_typed(doc), encoding="utf-8")
    got = load_workload(p).queries[0].params[0].arg
    assert len(got) == len(rows)
    for want, have in zip(rows, got, strict=True):
        assert all(_same(a, b) for a, b in zip(want, have, strict=True)), (want, have)


APP = r"""
import datetime, decimal, json, sqlite3, sys
sqlite3.register_adapter(decimal.Decimal, str)
rows = json.loads(open(sys.argv[2], encoding="utf-8").read(), parse_constant=float)
conn = sqlite3.connect(sys.argv[1])
conn.execute("CREATE TABLE v(k INTEGER PRIMARY KEY, a, b, c)")
for i, (kind, x) in enumerate(rows):
    if kind == "bytes":
        x = bytes.fromhex(x)
    elif kind == "memoryview":
        x = memoryview(bytes.fromhex(x))
    elif kind == "bytearray":
        x = bytearray.fromhex(x)
    elif kind == "bool":
        x = bool(x)
    elif kind == "datetime":
        x = datetime.datetime.fromisoformat(x)
    elif kind == "decimal":
        x = decimal.Decimal(x)
    elif kind == "float":
        x = float.fromhex(x)
    conn.execute("INSERT INTO v(a, b, c) VALUES (?, ?, ?)", (x, i, "k"))
conn.executemany("INSERT INTO v(a, b, c) VALUES (?, ?, x'00ff')",
                 [(x if k != "float" else float.fromhex(x), -i - 1000)
                  for i, (k, x) in enumerate(rows) if k in ("int", "text", "none", "float")])
conn.commit()
conn.execute("SELECT * FROM v WHERE a = ?", (1,)).fetchall()
"""


def _app_rows(seed: int) -> list:
    rng = random.Random(seed)
    out = []
    for _ in range(60):
        v = _value(rng)
        if v is None:
            out.append(["none", None])
        elif isinstance(v, int):
            out.append(["int", v])
        elif isinstance(v, float):
            out.append(["float", v.hex()])
        elif isinstance(v, str):
            out.append(["text", v])
        else:
            out.append([rng.choice(["bytes", "memoryview", "bytearray"]), v.hex()])
    out += [
        ["bool", True],
        ["bool", False],
        ["datetime", "2026-03-01T10:00:00.123456"],
        ["decimal", "3.14159265358979323846264338327950288"],
    ]
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_capture_to_replay_bit_for_bit(tmp_path, seed):
    """Capture a real application binding every kind of value; replay the captured rows
    into a fresh table; what SQLite stores is identical (typeof and value)."""
    import json

    rows = _app_rows(seed)
    data = tmp_path / "rows.json"
    data.write_text(json.dumps(rows), encoding="utf-8")
    app = tmp_path / "app.py"
    app.write_text(APP)
    db = tmp_path / "app.db"
    events, code = capture_command([sys.executable, str(app), str(db), str(data)])
    assert code == 0
    res = group(events, max_values=10_000)
    out = tmp_path / "cap.yaml"
    out.write_text(build_workload(res, name="rt", source="app"), encoding="utf-8")
    wl = load_workload(out)
    stmts = {st.sql: st for w in wl.writes for st in w.statements}
    # the literal x'00ff' is a parameter too: both INSERTs are one shape, not one per blob
    assert list(stmts) == ["INSERT INTO v(a, b, c) VALUES (?, ?, ?)"]
    ins = stmts["INSERT INTO v(a, b, c) VALUES (?, ?, ?)"]
    captured = ins.params[0].arg
    assert {r[2] for r in captured} == {"k", b"\x00\xff"}

    replay = sqlite3.connect(tmp_path / "replay.db")
    replay.execute("CREATE TABLE v(k INTEGER PRIMARY KEY, a, b, c)")
    for r in captured:
        replay.execute(ins.sql, r)
    replay.commit()
    q = "SELECT typeof(a), a, b FROM v ORDER BY b"
    orig = {r[2]: r[:2] for r in sqlite3.connect(db).execute(q)}
    back = {r[2]: r[:2] for r in replay.execute(q)}
    assert set(orig) == set(back) and len(captured) == len(orig)
    for b, (t, a) in orig.items():
        assert back[b][0] == t and _same(back[b][1], a), (b, t, a, back[b])


def test_sampler_draws_whole_rows(tmp_path: Path):
    doc = {
        "name": "r",
        "queries": [
            {"name": "q", "sql": "SELECT ?, ?", "params": [{"rows": [[1, b"\x00"], [2, b"\x01"]]}]}
        ],
    }
    p = tmp_path / "w.yaml"
    p.write_text(dump_typed(doc), encoding="utf-8")
    s = ParamSampler(sqlite3.connect(":memory:"), load_workload(p).queries[0].params, seed=3)
    for a, b in s.draw_many(20):
        assert b == bytes([a - 1])  # correlated values stay together
