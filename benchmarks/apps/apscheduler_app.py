"""A job scheduler on APScheduler 3 with its SQLAlchemyJobStore on SQLite, used as its user
guide shows: jobs added with interval, cron and date triggers (ids, replace_existing),
paused, resumed, rescheduled and removed, and the scheduler's main loop polling the store
for "which jobs are due" (`get_due_jobs(now)`: next_run_time <= now). The loop runs
in-process (each tick is what BlockingScheduler's loop does on wake-up, with the debug
executor running jobs synchronously), so the run is deterministic: most polls find nothing
due, a few find the one-off jobs that fell due since the last tick.

    python apscheduler_app.py jobs.db [ticks]
"""

import datetime
import random
import sys

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler

UTC = datetime.UTC
RAN: list[str] = []


def report(name):
    RAN.append(name)


def cleanup(days):
    RAN.append(f"cleanup {days}")


class TickScheduler(BaseScheduler):
    """A scheduler whose main loop the application drives: `tick()` is one wake-up."""

    def shutdown(self, wait=True):
        super().shutdown(wait)

    def wakeup(self):
        pass  # nothing sleeps: the next tick() is the wake-up

    def tick(self):
        return self._process_jobs()


def main() -> None:
    ticks = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(13)
    sched = TickScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{sys.argv[1]}")},
        executors={"default": {"type": "debug"}},
        job_defaults={"coalesce": True, "misfire_grace_time": 3600},
        timezone=UTC,
    )
    sched.start()
    now = datetime.datetime.now(UTC)
    for i in range(120):  # recurring jobs, all due in the future
        start = now + datetime.timedelta(minutes=5 + rng.randrange(600))
        sched.add_job(
            report,
            "interval",
            args=[f"r{i}"],
            hours=rng.choice([1, 6, 24]),
            start_date=start,
            id=f"report-{i}",
            replace_existing=True,
        )
    for i in range(30):
        sched.add_job(
            cleanup,
            "cron",
            args=[i % 7],
            hour=rng.randrange(24),
            minute=rng.randrange(60),
            id=f"cleanup-{i}",
            replace_existing=True,
        )
    for t in range(ticks):
        if t % 3 == 0:  # a one-off job that fell due a moment ago (a retry, a reminder)
            sched.add_job(
                report,
                "date",
                args=[f"once{t}"],
                run_date=datetime.datetime.now(UTC) - datetime.timedelta(seconds=1),
                id=f"once-{t}",
            )
        if t % 5 == 0:
            job = f"report-{rng.randrange(120)}"
            sched.pause_job(job)
            sched.get_job(job)
            sched.resume_job(job)
        if t % 10 == 0:
            sched.reschedule_job(f"report-{rng.randrange(120)}", trigger="interval", hours=12)
            sched.get_jobs()
        if t % 25 == 24:
            sched.remove_job(f"cleanup-{rng.randrange(30)}")
            sched.add_job(cleanup, "cron", args=[1], hour=3, id=f"late-{t}", replace_existing=True)
        sched.tick()  # the poll: jobs due now, and the next wake-up time
        if t % 7 == 0:  # a one-off in the future: left in the store
            sched.add_job(
                report,
                "date",
                args=[f"later{t}"],
                run_date=now + datetime.timedelta(days=1 + t),
                id=f"later-{t}",
            )
    sched.shutdown()
    print(f"{len(RAN)} job runs", file=sys.stderr)


if __name__ == "__main__":
    main()
