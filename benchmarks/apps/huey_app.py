"""A task queue on huey's SqliteHuey, used as its users use it: tasks enqueued by a
producer, run by a consumer loop (in-process here, so the run is deterministic), results
stored and read back, scheduled tasks. Statement-heavy: every enqueue, dequeue and result
is a few SQLite statements. The consumer runs three tasks in four, so the database is left
as a busy queue's is: pending tasks and unread results.

    python huey_app.py queue.db [tasks]
"""

import sys

from huey import SqliteHuey

huey = SqliteHuey(filename=sys.argv[1])


@huey.task()
def add(a, b):
    return a + b


@huey.task()
def shout(text):
    return text.upper().encode()


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    results = []
    for i in range(n):
        results.append(add(i, i) if i % 2 else shout(f"job {i}"))
    done = 0
    while done < n * 3 // 4:  # the consumer's loop, in-process: dequeue, run, store result
        task = huey.dequeue()
        if task is None:
            break
        huey.execute(task)
        done += 1
    drain = len(sys.argv) > 3 and sys.argv[3] == "drain"
    total = sum(1 for r in results[: n if drain else n // 2] if r.get() is not None)
    print(f"{done} tasks run, {total} results read", file=sys.stderr)


if __name__ == "__main__":
    main()
