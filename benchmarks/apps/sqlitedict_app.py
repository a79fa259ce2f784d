"""A key-value store on sqlitedict (a persistent dict over one SQLite table per name), used
as its README shows: two named tables in one file, values pickled (dicts, lists, bytes,
text), reads that hit and miss, `in`, len(), iteration over keys and items, deletes, and
explicit commits (autocommit off; each dict commits its batch before the other writes, as
two connections to one file must), then one dict opened read-only.

    python sqlitedict_app.py store.db [ops]
"""

import random
import sys

from sqlitedict import SqliteDict


def main() -> None:
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(9)
    path = sys.argv[1]
    with (
        SqliteDict(path, tablename="profiles") as profiles,
        SqliteDict(path, tablename="sessions") as sessions,
    ):
        for batch in range(ops // 50):
            for i in range(batch * 50, batch * 50 + 50):  # the web tier: profiles
                user = f"user:{rng.randrange(200)}"
                r = i % 5
                if r in (0, 1):
                    profiles[user] = {"name": user, "score": rng.random(), "tags": ["a"] * (i % 3)}
                elif r == 2:
                    profiles.get(user)  # hits and misses
                elif r == 3:
                    if user in profiles:
                        del profiles[user]
                else:
                    profiles[f"note:{i % 40}"] = f"note {i} ✓"
            profiles.commit()
            for i in range(batch * 20, batch * 20 + 20):  # the session store
                if i % 2:
                    sessions[f"s{i}"] = bytes(rng.randrange(256) for _ in range(24))
                else:
                    sessions.get(f"s{i - 2 * rng.randrange(4) - 1}")
                if i % 7 == 0:
                    sessions.pop(f"s{i - 11}", None)
            sessions.commit()
            if batch % 4 == 0:
                len(profiles)
                sum(1 for _ in sessions.keys())  # noqa: SIM118 (the app iterates keys)
    with SqliteDict(path, tablename="profiles", flag="r") as ro:
        n = sum(1 for _ in ro.items())
    print(f"{n} profiles", file=sys.stderr)


if __name__ == "__main__":
    main()
