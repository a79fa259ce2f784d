"""The run's parameters: named profiles and the inputs a run reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from perflab import paths
from perflab.errors import PerflabError


@dataclass(frozen=True)
class Profile:
    """How big and how thorough a run is. `scale` names a dataset scale."""

    name: str
    scale: str
    iterations: int  # timed executions per query
    warmup: int  # untimed executions before timing
    max_seconds: float | None  # per-query time budget; None = always `iterations`


PROFILES: dict[str, Profile] = {
    "tiny": Profile("tiny", "tiny", iterations=1000, warmup=50, max_seconds=None),
    "quick": Profile("quick", "quick", iterations=1000, warmup=100, max_seconds=8.0),
    "full": Profile("full", "full", iterations=2000, warmup=200, max_seconds=60.0),
}


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise PerflabError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run; recorded in summary.json."""

    profile: Profile
    dataset: Path = paths.DEFAULT_DATASET
    workload: Path = paths.DEFAULT_WORKLOAD
    targets: Path = paths.DEFAULT_TARGETS
    seed: int | None = None  # None: the dataset spec's seed

    @classmethod
    def create(
        cls,
        profile_name: str = "tiny",
        *,
        dataset: str | Path | None = None,
        workload: str | Path | None = None,
        targets: str | Path | None = None,
        seed: int | None = None,
        iterations: int | None = None,
    ) -> RunConfig:
        prof = profile(profile_name)
        if iterations:
            prof = replace(prof, iterations=int(iterations))
        cfg = cls(prof, seed=seed)
        for field, value in (("dataset", dataset), ("workload", workload), ("targets", targets)):
            if value:
                p = Path(value).expanduser().resolve()
                if not p.is_file():
                    raise PerflabError(f"{value}: {field} file not found")
                cfg = replace(cfg, **{field: p})
        return cfg
