"""One function per notebook: measure, build a typed record, save it, return it.

`stages.<name>.run(ctx, **the notebook's parameters)` does a notebook's work and returns
its record; `stages.<name>.load(run_dir)` reads it back. The records (`stages.records`)
are the contract with `run.summary` and the verdict: no stage reads another's dict by key.
"""

from perflab.stages import indexes, latency, plans, scale, summary, throughput

__all__ = ["indexes", "latency", "plans", "scale", "summary", "throughput"]
