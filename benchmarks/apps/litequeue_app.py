"""A work queue on litequeue (one SQLite table, statuses READY/LOCKED/DONE/FAILED), used as
its README shows: a producer puts JSON messages, a worker pops, processes and marks each
done, a few fail and are retried, the queue is inspected (qsize, peek, get, list_failed,
list_locked) and finished messages are pruned now and then. The worker falls behind, so
the file is left as a busy queue's is: ready, locked, done and failed messages.

    python litequeue_app.py queue.db [messages]
"""

import json
import random
import sys

from litequeue import LiteQueue


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    rng = random.Random(5)
    q = LiteQueue(sys.argv[1])
    for i in range(n):
        q.put(json.dumps({"job": i, "kind": rng.choice(["mail", "thumb", "sync"])}))
        if i % 4 == 3:  # the worker runs three messages in four
            for _ in range(3):
                task = q.pop()
                if task is None:
                    break
                if json.loads(task.data)["job"] % 17 == 0:
                    q.mark_failed(task.message_id)
                else:
                    q.done(task.message_id)
                q.get(task.message_id)
        if i % 25 == 0:
            q.qsize()
            q.peek()
            for failed in list(q.list_failed())[:2]:
                q.retry(failed.message_id)
            list(q.list_locked(threshold_seconds=60))
        if i % 200 == 199:
            q.prune(include_failed=False)
    q.pop()  # one message taken by a worker that is still running: LOCKED
    print(f"{q.qsize()} ready", file=sys.stderr)
    q.close()


if __name__ == "__main__":
    main()
