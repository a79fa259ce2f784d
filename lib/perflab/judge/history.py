"""History across runs: each query's and write's timings and work, run after run, and
where they changed.

Runs (run folders or summary.json files, or folders of them) are ordered by the commit
they measured (its committer time, which summary.json records as `commit`) and then by
when they ran, so a re-run of an old commit goes beside that commit. Each query gives
p50 and p99 with their intervals, and SQLite's work counters, as series over the runs;
each write its throughput and its work per write.

Two kinds of change, found two ways:

- Work counters and plans do not move between runs or machines for the same data, plan
  and parameters, so they change in exact steps: each step is named at the first run
  that shows it. Counters are compared with `perflab compare`'s own rule
  (`judge.compare.work_verdict`, tolerance `DEFAULT_WORK_TOLERANCE`) against the run
  where the current level began (so a slow drift is caught once it exceeds the
  tolerance), plans with its `plan_change`, run after run.
- Timings are noisy between runs (the A/A test in `judge.compare`: medians 1.6x apart
  with identical work), so a timing change point needs the series around it.
  `ruptures` (1.1.10, a maintained library of offline change-point methods) finds the
  candidates: PELT with an L2 cost on log(value). PELT is exact for a penalised cost,
  which matters on series of a handful of runs where a greedy Binseg or a sliding
  Window (which needs a window of runs on each side) would miss or shift a step; L2 on
  the log fits a level shift of a ratio (a query 30% slower is the same shift at 3 µs
  and at 3 ms); the RBF kernel cost is for changes in distribution, which a few points
  per segment cannot show. The penalty is BIC's 2·σ²·ln n, σ the run-to-run noise
  estimated from successive differences (MAD, robust to the steps themselves), floored
  at a quarter of a min-effect step, so identical figures are not cut everywhere. A
  segment is at least `MIN_RUNS` runs: one odd run is not a change point.
  Then each candidate must pass `perflab compare`'s rule between the segments it
  separates: the medians of the runs' figures differ by at least `min_effect`
  (`DEFAULT_MIN_EFFECT`, 25%) AND the segments' 95% intervals do not overlap; else it
  is not a change point (kept as a candidate with the reason). A segment's interval is
  the wider of its runs' own (median lower to median upper bound) and its median's from
  the run-to-run noise: tiny runs' p50 intervals are ±0.3% while runs move by 3-5%, so
  the runs' own intervals alone would let any 25% wobble through. Timings are only
  compared between runs on one machine (platform and host, where recorded).

Apache Otava (E-Divisive means) was the other candidate: it is a service-shaped tool
(a CLI over a results store) that needs many points per segment for its permutation
test; ruptures is a library and needs neither.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perflab.errors import PerflabError
from perflab.judge.compare import (
    DEFAULT_MIN_EFFECT,
    DEFAULT_WORK_TOLERANCE,
    load_summary,
    plan_change,
    work_verdict,
    write_subject,
    write_work_verdict,
)
from perflab.judge.evidence import (
    COUNTERS,
    WRITE_COUNTERS,
    Evidence,
    PlanShape,
    QueryEvidence,
    WriteEvidence,
)

FORMAT_VERSION = "1.0"

#: the fewest runs on each side of a timing change point
MIN_RUNS = 2

METHOD = (
    "timings: ruptures PELT, L2 cost on log(value), penalty 2·σ²·ln n (σ from successive "
    f"differences), segments of at least {MIN_RUNS} runs; a candidate counts when the "
    "segments' medians differ by at least the minimum effect and their intervals (median "
    "lower to median upper bound of the runs) do not overlap, on one machine. Work counters "
    "and plans: exact steps, compared as perflab compare does, named at the first run "
    "showing each."
)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RunPoint:
    """One run of the history, where it sits (1-based `index`) and what it measured."""

    index: int
    run_id: str
    source: str  # the path it was read from
    created_at: str | None = None
    commit: str | None = None
    committed_at: str | None = None
    sqlite_version: str | None = None
    machine: str | None = None  # platform (and host, where recorded)
    select_1_ms: float | None = None  # the harness's SELECT 1: the machine's speed

    @property
    def label(self) -> str:
        """ "run 6" or "run 6 (commit abc1234)"."""
        return f"run {self.index}" + (f" (commit {self.commit[:7]})" if self.commit else "")


@dataclass(frozen=True)
class Point:
    """One run's figure with its 95% interval (a bound is None when too few samples)."""

    run: int
    value: float
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class TimingChange:
    """A timing change point candidate: the segments before and after run `run`."""

    subject: str
    kind: str  # query | write
    metric: str  # p50 | p99 | ops_per_s
    run: int  # the first run after the change
    before: float  # median of the runs' figures before
    after: float
    before_interval: tuple[float | None, float | None]
    after_interval: tuple[float | None, float | None]
    runs_before: int
    runs_after: int
    called: bool  # passed the minimum effect and non-overlapping intervals
    reason: str = ""  # why it is not a change point, or a caveat
    sentence: str = ""

    @property
    def worse(self) -> bool:
        return self.after < self.before if self.metric == "ops_per_s" else self.after > self.before

    @property
    def change(self) -> float:
        """How much worse (positive) or better (negative), as a fraction: 0.31 = 31%."""
        r = self.after / self.before
        return (1 / r - 1) if self.metric == "ops_per_s" else (r - 1)

    @property
    def size(self) -> str:
        """The change's size as a reader says it: "31%", or "7.6x" from twice on."""
        pct = abs(self.change)
        return f"{pct + 1:.1f}x" if pct >= 1 else f"{pct:.0%}"


@dataclass(frozen=True)
class Step:
    """An exact step in work counters or in a plan, named at the first run showing it."""

    subject: str
    kind: str  # query | write
    what: str  # work | plan
    run: int
    verdict: str  # work: regression | improvement; plan: worse | better | changed
    before: str
    after: str
    why: str = ""
    sentence: str = ""


@dataclass(frozen=True)
class Series:
    """One query's or write's figures over the runs (None where a run has none)."""

    subject: str
    kind: str  # query | write
    timings: Mapping[str, tuple[Point, ...]] = field(default_factory=dict)  # metric -> points
    counters: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    plans: tuple[str | None, ...] = ()  # the plan in words, per run (queries)


@dataclass(frozen=True)
class History:
    """The history of runs, their series and the change points found in them."""

    runs: tuple[RunPoint, ...]
    series: tuple[Series, ...]
    timing_changes: tuple[TimingChange, ...]  # candidates; `.called` ones are change points
    steps: tuple[Step, ...]
    min_effect: float = DEFAULT_MIN_EFFECT
    work_tolerance: float = DEFAULT_WORK_TOLERANCE
    method: str = METHOD
    notes: tuple[str, ...] = ()  # what was not analysed, and why

    @property
    def change_points(self) -> tuple[TimingChange, ...]:
        return tuple(c for c in self.timing_changes if c.called)

    @property
    def sentences(self) -> tuple[str, ...]:
        """One sentence per change point and step, in run order: the manager's view."""
        items = [(c.run, 1, c.sentence) for c in self.change_points]
        items += [(s.run, 0 if s.what == "plan" else 2, s.sentence) for s in self.steps]
        return tuple(s for *_, s in sorted(items, key=lambda x: x[:2]))  # plans lead a run

    def run(self, index: int) -> RunPoint:
        return self.runs[index - 1]

    def to_dict(self) -> dict[str, Any]:
        """history.json (data/history.schema.json)."""
        return {
            "format_version": FORMAT_VERSION,
            "min_effect": self.min_effect,
            "work_tolerance": self.work_tolerance,
            "method": self.method,
            "runs": [asdict(r) for r in self.runs],
            "sentences": list(self.sentences),
            "change_points": [_change_dict(c) for c in self.change_points],
            "timing_candidates": [_change_dict(c) for c in self.timing_changes if not c.called],
            "steps": [asdict(s) for s in self.steps],
            "series": [
                {
                    "subject": s.subject,
                    "kind": s.kind,
                    "timings": {m: [asdict(p) for p in pts] for m, pts in s.timings.items()},
                    "counters": {k: list(v) for k, v in s.counters.items()},
                    "plans": list(s.plans),
                }
                for s in self.series
            ],
            "notes": list(self.notes),
        }


def _change_dict(c: TimingChange) -> dict[str, Any]:
    d = asdict(c)
    d["before_interval"], d["after_interval"] = list(c.before_interval), list(c.after_interval)
    d["change"] = c.change
    d["worse"] = c.worse
    return d


# ------------------------------------------------------------------------------ inputs


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Each path as the summaries it names: a run folder, a summary.json file, or a folder
    of run folders and summary files (not recursive). One clear error for anything else."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file() or (p / "summary.json").is_file():
            out.append(p)
        elif p.is_dir():
            found = sorted(
                [c for c in p.iterdir() if c.is_dir() and (c / "summary.json").is_file()]
                + [c for c in p.iterdir() if c.is_file() and c.suffix == ".json"]
            )
            if not found:
                raise PerflabError(f"{raw}: no summary.json in it nor any run folder or summary")
            out.extend(found)
        else:
            raise PerflabError(f"{raw}: no such run folder or summary file")
    if not out:
        raise PerflabError("history: no run folder or summary given")
    return out


def _when(s: Any) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(str(s))
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _machine(d: Mapping[str, Any]) -> str | None:
    """The machine a run measured on: its platform, and its host where recorded."""
    eng = d.get("engine") if isinstance(d.get("engine"), Mapping) else {}
    m = d.get("machine") if isinstance(d.get("machine"), Mapping) else {}
    host = next((m[k] for k in ("hostname", "host", "node") if m.get(k)), None)
    parts = [str(x) for x in (eng.get("platform"), eng.get("machine"), host) if x]
    return " · ".join(parts) or None


def load_runs(paths: Iterable[str | Path]) -> list[tuple[RunPoint, Evidence]]:
    """Every run the paths name, read and ordered (by commit time, then run time), each
    once; a path that is not a run or summary raises before anything is built."""
    loaded = []
    seen: set[str] = set()
    for pos, p in enumerate(expand_paths(paths)):
        d = load_summary(p)
        ev = Evidence.from_summary(d)
        run_id = str(d.get("run_id") or p.stem)
        key = f"{run_id}\0{d.get('created_at')}"
        if key in seen:  # the same run named twice (its folder and its summary.json)
            continue
        seen.add(key)
        commit = d.get("commit") if isinstance(d.get("commit"), Mapping) else {}
        when = _when(commit.get("committed_at")) or _when(d.get("created_at"))
        order = (when is None, when or dt.datetime.min.replace(tzinfo=dt.UTC))
        order += (_when(d.get("created_at")) or dt.datetime.min.replace(tzinfo=dt.UTC), pos)
        point = dict(
            run_id=run_id,
            source=str(p),
            created_at=d.get("created_at"),
            commit=commit.get("sha"),
            committed_at=commit.get("committed_at"),
            sqlite_version=ev.sqlite_version,
            machine=_machine(d),
            select_1_ms=ev.select_1_ms,
        )
        loaded.append((order, point, ev))
    loaded.sort(key=lambda x: x[0])
    return [(RunPoint(index=i, **pt), ev) for i, (_, pt, ev) in enumerate(loaded, start=1)]


# ------------------------------------------------------------------------ exact steps


def plan_words(p: PlanShape) -> str:
    """A plan in a few words: "uses idx_a", "scans + temp B-tree", "rowid lookup"."""
    parts = []
    if p.indexes:
        parts.append("uses " + ", ".join(p.indexes))
    elif p.uses_index:
        parts.append("rowid lookup")
    if p.full_scans:
        parts.append("scans" if p.full_scans == 1 else f"scans {p.full_scans} tables")
    if p.temp_btrees:
        parts.append("temp B-tree")
    return " + ".join(parts) or (" | ".join(p.details) if p.details else "no plan")


def _counter_words(means: Mapping[str, float]) -> str:
    from perflab.judge.compare import fmt_work

    return (
        f"{fmt_work(means['vm_steps'])} VM steps, "
        f"{fmt_work(means['fullscan_steps'])} full-scan steps per execution"
    )


def _query_steps(name: str, runs: Sequence[tuple[RunPoint, QueryEvidence]], tol: float):
    """Plan steps (run after run) and work steps (against the current level's first run)."""
    steps: list[Step] = []
    for (_, prev), (r, q) in zip(runs, runs[1:], strict=False):
        change, why = plan_change(prev.plan, q.plan)
        if change != "same":
            before, after = plan_words(prev.plan), plan_words(q.plan)
            if before == after:  # same shape, other lines: say which lines
                before, after = " | ".join(prev.plan.details), " | ".join(q.plan.details)
            steps.append(
                Step(
                    name,
                    "query",
                    "plan",
                    r.index,
                    change,
                    before,
                    after,
                    why,
                    f"`{name}`'s plan changed at {r.label}: {before} → {after}",
                )
            )
    return steps + _work_steps(
        name,
        "query",
        [(r, q.counters) for r, q in runs],
        lambda b, h: work_verdict(b, h, tol),
        lambda v, b, h: (
            _counter_words(b.means_over(v["executions"])),
            _counter_words(h.means_over(v["executions"])),
        ),
    )


def _work_steps(name: str, kind: str, runs: Sequence[tuple[RunPoint, Any]], verdict, words):
    """One subject's work steps: each run's counters against those of the run where the
    current level began (`verdict`: compare's), a step where they are a regression or an
    improvement; `words` gives the before and after levels in words."""
    steps: list[Step] = []
    ref = next(((r, c) for r, c in runs if c is not None), None)
    for r, c in runs:
        if ref is None or r.index <= ref[0].index or c is None:
            continue
        v = verdict(ref[1], c)
        if v["verdict"] in ("regression", "improvement"):
            word = "more" if v["verdict"] == "regression" else "less"
            per = " per write" if kind == "write" else ""
            before, after = words(v, ref[1], c)
            steps.append(
                Step(
                    name,
                    kind,
                    "work",
                    r.index,
                    v["verdict"],
                    before,
                    after,
                    v["why"],
                    f"`{name}` does {word} work{per} from {r.label} on: {v['why']}",
                )
            )
            ref = (r, c)
    return steps


def _write_steps(name: str, runs: Sequence[tuple[RunPoint, WriteEvidence]], tol: float):
    return _work_steps(
        name,
        "write",
        [(r, w.counters) for r, w in runs],
        lambda b, h: write_work_verdict(b, h, tol),
        lambda v, _b, _h: (_write_counter_words(v, "base"), _write_counter_words(v, "head")),
    )


def _write_counter_words(v: Mapping[str, Any], side: str) -> str:
    from perflab.judge.compare import WRITE_WORK_LABELS, fmt_work

    return ", ".join(
        f"{fmt_work(v[f'{side}_{k}'])} {label}"
        for k, label in WRITE_WORK_LABELS.items()
        if v.get(f"{side}_{k}") is not None
    )


# --------------------------------------------------------------------- timing changes


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _noise(y: Any) -> float:
    """Run-to-run noise of a log series: the MAD of successive differences (a step is
    one large difference among many, so it barely moves this), as a standard deviation."""
    import numpy as np

    if len(y) < 2:
        return 0.0
    return 1.4826 * float(np.median(np.abs(np.diff(y)))) / math.sqrt(2)


def _segment_interval(pts: Sequence[Point], sigma: float) -> tuple[float | None, float | None]:
    """A segment's 95% interval: the wider of the runs' own intervals (the median of their
    lower bounds to the median of their upper bounds; None where a run lacks a bound: too
    few samples) and the interval of the segment's median from the run-to-run noise
    (median × exp(±1.96 · 1.2533 · σ / √n)), which a within-run interval cannot see."""
    level = _median([p.value for p in pts])
    half = 1.96 * 1.2533 * sigma / math.sqrt(len(pts))
    lo = [p.lo for p in pts]
    hi = [p.hi for p in pts]
    return (
        None if any(x is None for x in lo) else min(_median(lo), level * math.exp(-half)),  # type: ignore[arg-type]
        None if any(x is None for x in hi) else max(_median(hi), level * math.exp(half)),  # type: ignore[arg-type]
    )


def breakpoints(values: Sequence[float], min_effect: float = DEFAULT_MIN_EFFECT) -> list[int]:
    """Where PELT cuts log(values): indices (0-based) of the first point of each new
    segment, each segment at least `MIN_RUNS` long. Candidates only: see `timing_changes`."""
    import numpy as np
    import ruptures as rpt

    n = len(values)
    if n < 2 * MIN_RUNS:
        return []
    y = np.log(np.asarray(values, dtype=float))
    sigma = _noise(y)
    floor = math.log1p(min_effect) ** 2 / 4
    pen = max(2 * sigma**2 * math.log(n), floor)
    bkps = rpt.Pelt(model="l2", min_size=MIN_RUNS, jump=1).fit(y.reshape(-1, 1)).predict(pen=pen)
    return [b for b in bkps if b < n]


def _overlap(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> bool:
    """Whether two intervals may overlap (a missing bound may: nothing is excluded)."""
    (alo, ahi), (blo, bhi) = a, b
    if None in (alo, ahi, blo, bhi):
        return True
    return not (ahi < blo or bhi < alo)  # type: ignore[operator]


def timing_changes(
    subject: str,
    kind: str,
    metric: str,
    points: Sequence[Point],
    runs: Sequence[RunPoint],
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> list[TimingChange]:
    """The change point candidates of one timing series, each judged by the rule above."""
    pts = [p for p in points if p.value is not None and p.value > 0]
    cuts = breakpoints([p.value for p in pts], min_effect)
    sigma = _noise([math.log(p.value) for p in pts])
    bounds = [0, *cuts, len(pts)]
    out = []
    for i, cut in enumerate(cuts):
        seg_a, seg_b = pts[bounds[i] : cut], pts[cut : bounds[i + 2]]
        before, after = _median([p.value for p in seg_a]), _median([p.value for p in seg_b])
        ia, ib = _segment_interval(seg_a, sigma), _segment_interval(seg_b, sigma)
        ratio = after / before
        big = max(ratio, 1 / ratio) >= 1 + min_effect
        machines = {runs[p.run - 1].machine for p in (*seg_a, *seg_b)}
        reason = ""
        if not big:
            reason = f"x{ratio:.2f} is within the minimum effect ({min_effect:.0%})"
        elif _overlap(ia, ib):
            reason = "the segments' intervals overlap"
        elif len(machines) > 1:
            reason = "runs from more than one machine: their timings are not compared"
        change = TimingChange(
            subject,
            kind,
            metric,
            seg_b[0].run,
            before,
            after,
            ia,
            ib,
            len(seg_a),
            len(seg_b),
            called=not reason,
            reason=reason,
        )
        if change.called:
            change = _with_sentence(change, runs, seg_a, seg_b)
        out.append(change)
    return out


def _with_sentence(
    c: TimingChange, runs: Sequence[RunPoint], seg_a: Sequence[Point], seg_b: Sequence[Point]
) -> TimingChange:
    from dataclasses import replace

    from perflab.judge.compare import MACHINE_DRIFT

    size = c.size  # "7.6x slower", "31% slower"
    if c.metric == "ops_per_s":
        what = f"`{c.subject}`'s throughput got {size} {'lower' if c.worse else 'higher'}"
    else:
        tail = "" if c.metric == "p50" else f" at {c.metric}"
        what = f"`{c.subject}` got {size} {'slower' if c.worse else 'faster'}{tail}"
    sentence = f"{what} at {runs[c.run - 1].label}"
    caveat = ""
    s1a = [runs[p.run - 1].select_1_ms for p in seg_a]
    s1b = [runs[p.run - 1].select_1_ms for p in seg_b]
    if all(s1a) and all(s1b):
        drift = _median(s1b) / _median(s1a)  # type: ignore[arg-type]
        lo, hi = MACHINE_DRIFT
        if not lo <= drift <= hi:
            caveat = f"the machine's SELECT 1 moved too (x{drift:.2f}): it may be the machine"
            sentence += f" ({caveat})"
    return replace(c, sentence=sentence, reason=caveat)


# ---------------------------------------------------------------------------- history


def _points(
    runs: Sequence[tuple[RunPoint, Any]], fig: Any
) -> tuple[Point, ...]:  # fig: (obj) -> (value, lo, hi) | None
    out = []
    for r, obj in runs:
        v = fig(obj)
        if v is not None and v[0] is not None:
            out.append(Point(r.index, float(v[0]), v[1], v[2]))
    return tuple(out)


def _latency(key: str):
    def get(q: QueryEvidence):
        f = q.latency.get(key)
        return None if f is None else (f.value, f.lo, f.hi)

    return get


def _ops(w: WriteEvidence):
    if w.ops_per_s is None:
        return None
    lo, hi = w.ops_per_s_ci or (None, None)
    return (w.ops_per_s, lo, hi)


def _subjects(items: Iterable[tuple[RunPoint, Iterable[tuple[str, Any]]]]):
    """subject -> [(run, obj)] in run order, first in each run; subjects in first-seen order."""
    out: dict[str, list[tuple[RunPoint, Any]]] = {}
    for r, named in items:
        done = set()
        for name, obj in named:
            if name not in done:
                out.setdefault(name, []).append((r, obj))
                done.add(name)
    return out


def build_history(
    loaded: Sequence[tuple[RunPoint, Evidence]],
    min_effect: float = DEFAULT_MIN_EFFECT,
    work_tolerance: float = DEFAULT_WORK_TOLERANCE,
) -> History:
    """The history of `loaded` (from `load_runs`): series, steps and timing changes."""
    runs = tuple(r for r, _ in loaded)
    notes = []
    if len(runs) < 2 * MIN_RUNS:
        notes.append(
            f"timing change points: not analysed: {len(runs)} runs (at least {2 * MIN_RUNS} "
            f"are needed, {MIN_RUNS} on each side of a change)"
        )
    series, changes, steps = [], [], []
    queries = _subjects((r, ((q.name, q) for q in ev.queries)) for r, ev in loaded)
    for name, qruns in queries.items():
        if len(qruns) < len(runs):
            notes.append(f"`{name}` is in {len(qruns)} of {len(runs)} runs")
        timings = {m: _points(qruns, _latency(m)) for m in ("p50", "p99")}
        counters = {
            k: tuple(
                q.counters.means_over(q.counters.executions)[k]
                if q.counters and q.counters.executions and q.counters.source
                else None
                for _, q in qruns
            )
            for k in COUNTERS
        }
        plans = tuple(plan_words(q.plan) if q.plan.details else None for _, q in qruns)
        series.append(Series(name, "query", timings, counters, plans))
        for m, pts in timings.items():
            changes += timing_changes(name, "query", m, pts, runs, min_effect)
        steps += _query_steps(name, qruns, work_tolerance)
    subject_runs = _subjects(
        (r, ((write_subject(w), w) for w in (ev.throughput.writes if ev.throughput else ())))
        for r, ev in loaded
    )
    for subject, wruns in subject_runs.items():
        pts = _points(wruns, _ops)
        counters = {
            k: tuple(
                w.counters.means_over(w.counters.ops)[k] if w.counters and w.counters.ops else None
                for _, w in wruns
            )
            for k in WRITE_COUNTERS
        }
        series.append(Series(subject, "write", {"ops_per_s": pts}, counters))
        changes += timing_changes(subject, "write", "ops_per_s", pts, runs, min_effect)
    by_name = _subjects(
        (r, ((str(w.write), w) for w in (ev.throughput.writes if ev.throughput else ())))
        for r, ev in loaded
    )
    for name, wruns in by_name.items():
        steps += _write_steps(name, wruns, work_tolerance)
    steps.sort(key=lambda s: (s.run, s.what != "plan", s.subject))
    changes.sort(key=lambda c: (c.run, c.subject, c.metric))
    return History(
        runs,
        tuple(series),
        tuple(changes),
        tuple(steps),
        min_effect,
        work_tolerance,
        METHOD,
        tuple(notes),
    )


def history(
    paths: Iterable[str | Path],
    min_effect: float | None = None,
    work_tolerance: float | None = None,
) -> History:
    """The history of the runs `paths` name (see `expand_paths`)."""
    return build_history(
        load_runs(paths),
        DEFAULT_MIN_EFFECT if min_effect is None else min_effect,
        DEFAULT_WORK_TOLERANCE if work_tolerance is None else work_tolerance,
    )


def validate_history(doc: Mapping[str, Any]) -> None:
    """Check `doc` (`History.to_dict`) against data/history.schema.json; one line naming
    the JSON path that fails."""
    import json

    import jsonschema
    from jsonschema.exceptions import best_match

    from perflab import paths

    schema = json.loads((paths.DATA_DIR / "history.schema.json").read_text(encoding="utf-8"))
    error = best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if error is not None:
        where = "$" + "".join(
            f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
        )
        raise PerflabError(f"history.json: {where}: {' '.join(str(error.message).split())}")
