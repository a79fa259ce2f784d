"""The recorder ``perflab capture`` copies as ``sitecustomize.py`` into the folder it puts
first on the application's PYTHONPATH: it makes every ``sqlite3.connect`` return a
recording connection (see `perflab.inputs.capture` for what is recorded and why).

A real module so that ruff, the type checker and coverage see it. It imports nothing from
perflab (it runs inside the application, where perflab may not be importable) and
installs itself only when Python imports it as ``sitecustomize`` with PERFLAB_CAPTURE_DIR
set: perflab reads this file as text, and importing it by its package name patches nothing.
"""

import os as _os

_DIR = _os.environ.get("PERFLAB_CAPTURE_DIR")


def _install() -> None:
    """Patch sqlite3.connect (both names) to return recording connections."""
    import atexit
    import itertools
    import marshal
    import sqlite3
    import sqlite3.dbapi2 as dbapi2
    import threading
    import time

    clock = time.perf_counter_ns
    events = []
    ids = itertools.count(1)
    seqs = itertools.count(1)
    lock = threading.Lock()
    late = {}  # seq -> [cid, ns, rows] fetched after the event was handed over
    plain = (int, float, str, bytes, type(None))
    adapters = sqlite3.adapters
    proto = sqlite3.PrepareProtocol

    def adapt(v):
        t = type(v)
        if t in plain:
            return v
        a = adapters.get((t, proto))
        try:
            if a is not None:
                v = a(v)
            elif hasattr(v, "__conform__"):
                v = v.__conform__(proto)
            if v is None or type(v) in plain:
                return v
            if isinstance(v, int):
                return int(v)
            if isinstance(v, float):
                return float(v)
            if isinstance(v, str):
                return str(v)
            return bytes(memoryview(v))
        except Exception:
            return ["?", repr(v)[:200]]

    def adapt_params(p):
        if p is None:
            return None
        if isinstance(p, dict):
            return {str(k): adapt(v) for k, v in p.items()}
        try:
            return [adapt(v) for v in p]
        except Exception:
            return None

    def dump():
        with lock:  # threads may reach the chunk size together
            batch = events[:]
            del events[: len(batch)]
            deltas = late.copy()
            for seq in deltas:
                del late[seq]
            out = []
            for ev in batch:
                kind, cid, sql, params = ev[0], ev[1], ev[2], ev[3]
                if kind == "m":
                    params = [adapt_params(r) for r in params]
                elif kind == "x":
                    params = adapt_params(params)
                out.append((kind, cid, sql, params, *ev[4:]))
                ev[0] = None  # handed over: rows fetched from now on go to `late`
            for seq, (cid, ns, rows) in deltas.items():
                out.append(("f", cid, None, None, ns, 0, False, False, rows, seq))
            if not out:
                return
            data = marshal.dumps(out)
            path = _os.path.join(_DIR, f"events-{_os.getpid()}.marshal")
            with open(path, "ab") as fh:  # length-prefixed chunks: read back with loads()
                fh.write(len(data).to_bytes(8, "little") + data)

    def after_fork():
        nonlocal lock
        lock = threading.Lock()  # another thread may have held it at the fork
        events.clear()  # the parent's events are the parent's to write
        late.clear()
        try:
            import multiprocessing.util as mpu

            mpu.Finalize(None, dump, exitpriority=0)
        except Exception:
            pass

    atexit.register(dump)
    _os.register_at_fork(after_in_child=after_fork)

    def note(ev):
        events.append(ev)
        if len(events) >= 4096:
            dump()  # a chunk for perflab, which groups while the application runs

    def failed(conn, sql, t0, before):  # a call that raised: kept, with its time
        note(
            [
                "e",
                getattr(conn, "_perflab_cid", 0),
                sql,
                None,
                clock() - t0,
                0,
                before,
                conn.in_transaction,
                0,
                0,
            ]
        )

    def fetched(ev, ns, rows):
        if ev[0] is not None:
            ev[4] += ns
            ev[8] += rows
        else:
            d = late.get(ev[9])
            if d is None:
                late[ev[9]] = [ev[1], ns, rows]
            else:
                d[1] += ns
                d[2] += rows

    def one(_row):
        return 1

    def is_row(row):
        return row is not None

    def fetching(method, count):
        def fetch(self, *a, **kw):
            t0 = clock()
            out = method(self, *a, **kw)
            ev = self._ev
            if ev is not None:
                fetched(ev, clock() - t0, count(out))
            return out

        return fetch

    class Cursor(sqlite3.Cursor):
        _ev = None

        def _run(self, kind, call, sql, args, recorded):
            # One wrapper for execute/executemany/executescript: a call that raises is
            # kept with its time; only execute's event collects the rows fetched later.
            conn = self.connection
            before = conn.in_transaction
            t0 = clock()
            try:
                r = call(self, sql, *args)
            except BaseException:
                failed(conn, sql, t0, before)
                raise
            single = kind == "x"
            ev = [
                kind,
                getattr(conn, "_perflab_cid", 0),
                sql,
                recorded,
                clock() - t0,
                self.rowcount if kind != "s" else -1,
                before,
                conn.in_transaction,
                0,
                next(seqs) if single else 0,
            ]
            self._ev = ev if single else None
            note(ev)
            return r

        def execute(self, sql, parameters=()):
            recorded = (
                parameters
                if type(parameters) is tuple
                else tuple(parameters)
                if not isinstance(parameters, dict)
                else dict(parameters)
            )
            return self._run("x", sqlite3.Cursor.execute, sql, (parameters,), recorded)

        def executemany(self, sql, seq_of_parameters):
            rows = list(seq_of_parameters)
            return self._run("m", sqlite3.Cursor.executemany, sql, (rows,), rows)

        def executescript(self, sql_script):
            return self._run("s", sqlite3.Cursor.executescript, sql_script, (), None)

        # Rows fetched later add their time and count to the execute they belong to.
        __next__ = fetching(sqlite3.Cursor.__next__, one)  # StopIteration passes through
        fetchone = fetching(sqlite3.Cursor.fetchone, is_row)
        fetchmany = fetching(sqlite3.Cursor.fetchmany, len)
        fetchall = fetching(sqlite3.Cursor.fetchall, len)

    cursor_classes = {None: Cursor}

    def cursor_class(factory):
        if factory is None or factory is sqlite3.Cursor:
            return Cursor
        c = cursor_classes.get(factory)
        if c is None:
            if isinstance(factory, type) and issubclass(factory, sqlite3.Cursor):
                c = type(factory.__name__, (factory, Cursor), {})
            else:
                c = factory  # a callable we cannot wrap: its calls are not recorded
            cursor_classes[factory] = c
        return c

    conn_classes = {}

    def conn_class(base):
        c = conn_classes.get(base)
        if c is None:

            class Connection(base):
                def cursor(self, factory=None):
                    return base.cursor(self, cursor_class(factory))

                def execute(self, sql, parameters=()):
                    return self.cursor().execute(sql, parameters)

                def executemany(self, sql, seq_of_parameters):
                    return self.cursor().executemany(sql, seq_of_parameters)

                def executescript(self, sql_script):
                    return self.cursor().executescript(sql_script)

            c = conn_classes[base] = Connection
        return c

    original = sqlite3.connect

    def connect(*args, **kwargs):
        args = list(args)
        if len(args) > 5:
            base = args[5] or sqlite3.Connection
            args[5] = conn_class(base)
        else:
            base = kwargs.get("factory") or sqlite3.Connection
            kwargs["factory"] = conn_class(base)
        conn = original(*args, **kwargs)
        cid = _os.getpid() * 1000000 + next(ids)  # unique across processes
        try:
            conn._perflab_cid = cid
        except AttributeError:
            return conn
        db = args[0] if args else kwargs.get("database", "")
        note(
            [
                "c",
                cid,
                _os.fsdecode(db) if isinstance(db, (str, bytes, _os.PathLike)) else str(db),
                None,
                0,
                0,
                False,
                False,
                conn.isolation_level,
                0,
            ]
        )
        return conn

    sqlite3.connect = connect
    dbapi2.connect = connect


if __name__ == "sitecustomize" and _DIR:
    _install()
