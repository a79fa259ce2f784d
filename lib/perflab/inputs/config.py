"""The run's parameters: named profiles and the inputs a run reads."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

from perflab import paths
from perflab.errors import PerflabError


@dataclass(frozen=True)
class PlanSettings:
    """Notebook 01: how many parameter sets the diagnostics draw, how often each rewrite
    is executed, and the time budget that keeps a slow query from multiplying them (a
    budget cuts counts, never below the comparison's floor, and the records say when it
    did)."""

    sample: int = 30
    executions: int = 30  # executions of each side of a rewrite's comparison, over 4 rounds
    ab_seconds: float = 2.0  # time budget of each rewrite's comparison (measure.interleave)


@dataclass(frozen=True)
class IndexSettings:
    """Notebook 03: index usage, write cost and the advisor's measured candidates."""

    sample: int = 30  # sampled parameter sets per query (plans, rewrites, equivalence)
    write_ops: int = 100  # writes per variant when measuring write cost (on a copy)
    write_rounds: int = 3  # interleaved rounds of write-cost variants
    rounds: int = 4  # ABAB rounds when timing a candidate or the before/after comparison
    executions: int = 25  # executions per query per round
    ab_seconds: float = 2.0  # time budget per comparison: fewer executions (>= 5) past it
    min_effect: float = 0.05  # smallest change called an improvement or a regression
    drop_unused: bool = False  # also advise dropping indexes this workload merely doesn't use


@dataclass(frozen=True)
class ThroughputSettings:
    """Notebook 04: writes, durability sweep, concurrent readers and drivers."""

    write_ops: int = 300  # operations per write configuration
    write_seconds: float = 0.3  # time cap per write configuration
    batch_size: int = 50  # operations per transaction in the batched runs
    readers: tuple[int, ...] = (1, 2, 4, 8, 16, 50)  # reader counts of the sweep
    reader_seconds: float = 0.2  # duration of each concurrency configuration
    repeats: int = 3  # repetitions for the repeatability check
    driver_seconds: float = 0.1  # time budget per query and driver
    # Repeats of the concurrent-reads scenario: with n repeats min..max covers the median
    # with probability 1 - 2 * 0.5**n, first 95% at n = 6 (measure.concurrency.REPEATS_FOR_CI).
    concurrent_repeats: int = 7
    reader_sample: int = 1000  # parameter sets drawn for the concurrency query
    driver_sample: int = 400  # parameter sets per query for the driver comparison


@dataclass(frozen=True)
class ScaleSettings:
    """Notebook 05: the sizes of the sweep (factors of the profile's scale) and its timing.

    Factors double; each profile's meet the claim rule (measure.scale MIN_SIZES over
    MIN_DECADES of the smallest table a default query reads, sessions): tiny 8 sizes over
    2.1 decades reaching up to 8x (6 .. 800 sessions: ~8 s of measuring), quick 8 over 2.1
    (16 .. 2k sessions, ~15 s), full 11 over 3."""

    factors: tuple[float, ...] = tuple(2.0**k for k in range(-7, 1))
    iterations: int = 300  # timed executions per query and size (pooled over rounds)
    rounds: int = 2  # interleaved passes over all sizes
    seconds: float = 0.25  # time cap per query, size and round


@dataclass(frozen=True)
class Profile:
    """How big and how thorough a run is, every stage's settings included (this is the
    only place they live). `scale` names a dataset scale."""

    name: str
    scale: str
    iterations: int  # timed executions per query
    warmup: int  # untimed executions before timing
    max_seconds: float | None  # per-query time budget; None = always `iterations`
    plans: PlanSettings = PlanSettings()
    indexes: IndexSettings = IndexSettings()
    throughput: ThroughputSettings = ThroughputSettings()
    scale_sweep: ScaleSettings = ScaleSettings()


PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        "tiny",
        "tiny",
        iterations=1000,
        warmup=50,
        max_seconds=None,
        # 1/16 .. 8 (6 .. 800 sessions)
        scale_sweep=ScaleSettings(factors=tuple(2.0**k for k in range(-4, 4))),
    ),
    "quick": Profile(
        "quick",
        "quick",
        iterations=1000,
        warmup=100,
        # per query: a query whose 1,000 executions this cannot pay for looks where its p95
        # gets both bounds (104 samples), and goes on to where its p99 does (390) if 0.8 of
        # the rest pays for it (measure.stopping.StoppingRule.capped_looks). 2.5 s: every
        # query up to ~5 ms an execution still gets its p99 interval (at quick size only
        # audit_by_operation, 16 ms, does not, as at 4 s); at 4 s audit_by_namespace spent
        # 2.7 s on 1,000 executions where 390 give the same bounds.
        max_seconds=2.5,
        # Readers and drivers: figures no target or claim reads (only the sweep's failed
        # reads are judged, and the concurrent-reads scenario has its own repeats), so
        # quick measures each configuration half as long as the default: ~4 s of 04.
        throughput=ThroughputSettings(
            write_ops=500, write_seconds=0.4, reader_seconds=0.1, driver_seconds=0.05
        ),
        # 03's comparisons: 1 s each (a 7 ms query pair gets 4 x 17, not 4 x 25)
        indexes=IndexSettings(ab_seconds=1.0),
        # 1/128 .. 1 (16 .. 2k sessions): ScaleSettings' default
    ),
    "full": Profile(
        "full",
        "full",
        iterations=2000,
        warmup=200,
        # per query: 50 s. At 60 s, with p99's look at 390 samples (was 477), a 125 ms
        # query (namespace_prefix) could pay for it and took 50 s of 02 for an upper bound
        # its target did not need (its lower bound, ~150 ms against 50, fails it); at 50 s it
        # stops at p95's look (104), as it stopped at 94 before. Every query up to ~100 ms
        # still gets its p99 interval (measure.stopping.StoppingRule.capped_looks).
        max_seconds=50.0,
        # Comparisons at full: namespace_prefix costs 0.2-0.5 s an execution and varies
        # with its prefix; at the floor (4 x 5) a 0.63x index gain came out inconclusive on
        # a busy machine (bench_ab.py), so 03 allows 10 s (it took 58-327 s at 4 x 25) and
        # 01's rewrites 6 s.
        plans=PlanSettings(ab_seconds=6.0),
        indexes=IndexSettings(ab_seconds=10.0),
        # Readers 0.5 s per configuration and drivers 0.25 s per query and driver (were
        # 2.0 and 1.0: 56 s and ~40 s of the stage): figures no target or claim reads, as
        # in quick; each sweep configuration still gets >= 10k reads (p99 interval with
        # both bounds), and a fast query all its 400 parameter sets per round as before.
        throughput=ThroughputSettings(
            write_ops=5000,
            write_seconds=3.0,
            readers=(1, 2, 4, 8, 16, 32, 50),
            reader_seconds=0.5,
            repeats=10,
            driver_seconds=0.25,
            concurrent_repeats=10,
        ),
        # 1/1024 .. 1 (2k .. 2M audit rows)
        scale_sweep=ScaleSettings(factors=tuple(2.0**-k for k in range(10, -1, -1))),
    ),
}

#: Profile field holding each stage's settings (`settings(profile, stage, ...)`).
STAGE_SETTINGS = {
    "plans": "plans",
    "indexes": "indexes",
    "throughput": "throughput",
    "scale": "scale_sweep",
}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise PerflabError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None


def _coerce(name: str, default: object, value: object) -> object:
    """A notebook parameter as the setting's type: "1,2,4" for a tuple, "0.5" for a float."""
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else value
        kind = type(default[0]) if default else float
        try:
            out = tuple(kind(str(x).strip()) for x in items if str(x).strip())
        except (TypeError, ValueError):
            raise PerflabError(f"{name}: expected a comma-separated list, got {value!r}") from None
        if not out:
            raise PerflabError(f"{name}: empty list")
        return out
    if isinstance(default, bool):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    try:
        return type(default)(value)
    except (TypeError, ValueError):
        raise PerflabError(f"{name}: expected {type(default).__name__}, got {value!r}") from None


def settings(prof: Profile | str, stage: str, **overrides: object):
    """A stage's settings from the profile, with each non-None override applied.

    The one place a notebook parameter replaces a profile value: ``None`` means "the
    profile's value"; an unknown profile, stage or setting raises PerflabError."""
    prof = profile(prof) if isinstance(prof, str) else prof
    if stage not in STAGE_SETTINGS:
        raise PerflabError(f"unknown stage {stage!r} (known: {', '.join(STAGE_SETTINGS)})")
    base = getattr(prof, STAGE_SETTINGS[stage])
    known = {f.name for f in fields(base)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise PerflabError(
            f"{stage}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )
    return replace(
        base,
        **{
            k: _coerce(k, getattr(base, k), v)
            for k, v in overrides.items()
            if v is not None and v != ""
        },
    )


@dataclass(frozen=True)
class RunInputs:
    """What one run is asked to measure, as the user gave it: built once where the inputs
    come in (the command's options, the Python API's keywords, a notebook's parameters)
    and passed down whole, so no layer lists them again.

    Paths are kept as given (a message names the file the way the user spelled it).
    ``db`` / ``schema`` (bring your own) are turned into ``dataset``, ``workload`` and
    ``targets`` files by `perflab.inputs.userdb.resolve_inputs`; `RunConfig.create` then
    checks the files and fills in the embedded defaults."""

    profile: str = "tiny"
    db: str | Path | None = None  # the user's database, measured on a snapshot
    schema: str | Path | None = None  # the user's DDL: data is generated for it
    dataset: str | Path | None = None  # a dataset spec (or perflab's working copy of a db)
    workload: str | Path | None = None
    targets: str | Path | None = None
    seed: int | None = None  # None: the dataset spec's seed
    iterations: int | None = None  # None: the profile's timed executions per query
    # the milestone judged: queries and targets labelled with a later one wait (None: 1)
    milestone: int | None = None

    @classmethod
    def create(cls, profile: str = "tiny", **given: object) -> RunInputs:
        """From keywords as they arrive: ``None`` and ``""`` both mean "not given" (a
        notebook's parameters cell writes ``""`` for an empty path). A name that is not an
        input is bad input, named."""
        known = [f.name for f in fields(cls) if f.name != "profile"]
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise PerflabError(
                f"unknown run input {unknown[0]!r} (known: profile, {', '.join(known)})"
            )
        return cls(str(profile), **{k: v for k, v in given.items() if v is not None and v != ""})

    def to_dict(self) -> dict[str, str | int]:
        """The record as a notebook's ``inputs`` parameter (JSON: papermill passes it);
        `create(**d)` reads it back. Inputs not given are left out."""
        return {
            f.name: (v if isinstance(v, int) else str(v))
            for f in fields(self)
            if (v := getattr(self, f.name)) is not None and v != ""
        }

    @property
    def byo(self) -> bool:
        """The user brought a database or a schema: `resolve_inputs` has work to do."""
        return bool(self.db or self.schema)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run, checked and with defaults; recorded in
    summary.json."""

    profile: Profile
    dataset: Path = paths.DEFAULT_DATASET
    workload: Path = paths.DEFAULT_WORKLOAD
    targets: Path = paths.DEFAULT_TARGETS
    seed: int | None = None  # None: the dataset spec's seed
    milestone: int = 1  # queries and targets labelled with a later milestone wait

    @classmethod
    def create(cls, inputs: RunInputs) -> RunConfig:
        """The config for resolved ``inputs`` (no ``db`` / ``schema`` left): each given
        file must exist; what is not given is the embedded default."""
        if inputs.byo:  # a caller's slip, not the user's: db / schema would be ignored
            raise ValueError("RunConfig.create: resolve db / schema first (resolve_inputs)")
        prof = profile(inputs.profile)
        if inputs.iterations:
            prof = replace(prof, iterations=int(inputs.iterations))
        milestone = 1 if inputs.milestone is None else inputs.milestone
        if isinstance(milestone, bool) or not isinstance(milestone, int) or milestone < 1:
            raise PerflabError(f"milestone: must be a whole number >= 1, got {milestone!r}")
        cfg = cls(prof, seed=inputs.seed, milestone=milestone)
        for field in ("dataset", "workload", "targets"):
            value = getattr(inputs, field)
            if value:
                p = Path(value).expanduser().resolve()
                if not p.is_file():
                    raise PerflabError(f"{value}: {field} file not found")
                cfg = replace(cfg, **{field: p})
        return cfg
