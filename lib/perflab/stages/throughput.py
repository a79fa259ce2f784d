"""Notebook 04: write throughput, what durability costs, concurrent readers, drivers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from perflab.inputs import config
from perflab.inputs.context import RunContext
from perflab.measure import concurrency, drivers, throughput, timing, write_counters
from perflab.measure.latency import sample_params
from perflab.stages.records import Record, part, shown


@dataclass(frozen=True)
class WriteSettings(config.ThroughputSettings):
    """The profile's notebook-04 settings as this run used them, and the durability
    pragmas the writes ran under, in the form each write run records them: the verdict
    picks a write target's figure among the runs made under these."""

    pragmas: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ConcurrencyRecord(Record):
    """Readers swept (threads and processes, with and without a writer), and the
    workload's concurrent-reads scenario done for real."""

    STAGE = "concurrency"
    settings: WriteSettings
    query: str
    latency_kind: str
    sweep: tuple[dict, ...]
    concurrent_reads: dict
    frame: Any = shown()  # concurrency.sweep_frame(sweep)
    target: Any = shown()  # the scenario's current target, or None


@dataclass(frozen=True)
class DriversRecord(Record):
    """The same queries through each driver, and their plans through each SQLite build."""

    STAGE = "drivers"
    drivers: dict
    timing: str
    results: tuple[dict, ...]
    plans: tuple[dict, ...]
    plan_differences: tuple[str, ...]
    # queries whose one execution outlasts a driver's budget: {query, reason}
    not_compared: tuple[dict, ...] = ()
    frame: Any = shown()
    plans_frame: Any = shown()


@dataclass(frozen=True)
class ThroughputRecord(Record):
    """Each write at one and at `batch_size` operations per transaction, the pragma sweep,
    the repeatability check, and every failed data check (a lost or duplicated write)."""

    STAGE = "throughput"
    harness_overhead_ms: dict
    settings: WriteSettings
    writes: tuple[dict, ...]
    pragma_sweep: tuple[dict, ...]
    repeatability: dict | None
    failures: tuple[str, ...]
    concurrency: ConcurrencyRecord | None = part(ConcurrencyRecord)
    drivers: DriversRecord | None = part(DriversRecord)
    write_frame: Any = shown()
    sweep_frame: Any = shown()


def run(ctx: RunContext, **overrides: object) -> ThroughputRecord:
    """Measure the writes, the durability sweep, the readers and the drivers.

    `overrides` are the notebook's parameters, any field of `config.ThroughputSettings`
    (write_ops, write_seconds, batch_size, readers as "1,2,4", reader_seconds, repeats,
    driver_seconds...); None keeps the profile's value, an unknown name raises.

    A failed data check is recorded (`failures`), not raised: the verdict turns each
    into a critical issue, and the report shows which write lost or duplicated rows. After
    one, no repeatability figure is given and the readers are swept without a writer."""
    s = config.settings(ctx.config.profile, "throughput", **overrides)
    cfg = WriteSettings(**asdict(s), pragmas=throughput.reported_pragmas())
    db, wl, seed = ctx.db_path, ctx.workload, ctx.build.seed
    # each write configuration: the profile's operations and time cap, the module's warm-up
    per_write = replace(
        throughput.DEFAULT_BUDGET, iterations=s.write_ops, seed=seed, max_seconds=s.write_seconds
    )
    first = wl.writes[0] if wl.writes else None  # None: a workload of reads only
    scen = concurrency.scenario(wl)
    q = wl.query(scen.query)
    conn = ctx.connect()
    try:
        overhead = timing.harness_overhead(conn)
        # One draw for readers and drivers: a sampler draws in sequence from its seed, so
        # the first k of n tuples are the k it would draw alone (the same parameters as
        # two draws), and each query's sampler queries (a scan of the table at full
        # scale) run once.
        drawn = sample_params(conn, wl, max(s.reader_sample, s.driver_sample), seed)
        rparams = drawn[q.name][: s.reader_sample]
        dparams = {name: ps[: s.driver_sample] for name, ps in drawn.items()}
    finally:
        conn.close()
    # Every copy that is written to or read concurrently is cloned from one private copy
    # (throughput.Pristine); the worker processes are forked once for the concurrent
    # reads and the sweep alike.
    with (
        throughput.pristine(db) as src,
        concurrency.WorkerPool() as pool,
    ):
        writes = throughput.measure_writes(src, wl.writes, per_write, batch_sizes=(1, s.batch_size))
        # SQLite's own work per write, untimed on its own copy: what a comparison gates on
        work = write_counters.count_writes(src, wl.writes, seed)
        writes = [{**w, "counters": work[w["write"]].record()} for w in writes]
        sweep = throughput.pragma_sweep(src, wl.writes[:1], per_write)
        failed = throughput.failures(writes) + throughput.failures(sweep)
        try:
            rep = first and throughput.repeat_write(src, first, per_write, repeats=s.repeats)
        except throughput.DataCheckError as exc:  # no spread of a write that loses rows
            rep, failed = None, failed + [str(exc)]
        writer = None if failed else first  # a writer that loses rows would only raise again
        conc = concurrency.reader_sweep(
            src,
            q.sql,
            rparams,
            readers=s.readers,
            write=writer,
            duration_s=s.reader_seconds,
            seed=seed,
            pool=pool,
        )
        creads = {
            m: concurrency.concurrent_reads(
                src,
                q.sql,
                rparams,
                readers=scen.readers,
                reads_per_reader=scen.reads_per_reader,
                mode=m,
                repeats=s.concurrent_repeats,
                pool=pool,
            )
            for m in ("thread", "process")
        }
    tgt = concurrency.operation_target(ctx.targets, scen.name)
    dframe = drivers.compare_drivers(db, wl, dparams, max_seconds=s.driver_seconds)
    dplans = drivers.compare_plans(db, wl, dparams)
    return ThroughputRecord(
        overhead,
        cfg,
        tuple(writes),
        tuple(sweep),
        rep or None,
        tuple(failed),
        ConcurrencyRecord(
            cfg,
            q.name,
            "service time (closed loop)",
            tuple(conc),
            {"name": scen.name, **creads, "target_ms": tgt.threshold if tgt else None},
            frame=concurrency.sweep_frame(conc),
            target=tgt,
        ),
        DriversRecord.of(drivers.driver_records(dframe, dplans), frame=dframe, plans_frame=dplans),
        write_frame=throughput.write_frame(writes),
        sweep_frame=throughput.write_frame(sweep),
    ).save(ctx.run_dir)


#: The stage's record back from a run folder (None when the stage did not run).
load = ThroughputRecord.load
