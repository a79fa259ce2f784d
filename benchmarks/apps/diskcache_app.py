"""A disk cache (diskcache.Cache), used as its users use it: values of several kinds
(bytes, text, numbers, pickled objects), reads with hits and misses, expiry, deletes,
increments, tags.

    python diskcache_app.py cachedir [ops]
"""

import random
import sys

import diskcache


def main() -> None:
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(3)
    with diskcache.Cache(sys.argv[1]) as cache:
        for i in range(ops):
            k = f"key{rng.randrange(400)}"
            r = i % 7
            if r == 0:
                cache.set(k, bytes(rng.randrange(256) for _ in range(32)), tag="blob")
            elif r == 1:
                cache.set(k, {"i": i, "name": f"n{i}"}, expire=3600)
            elif r == 2:
                cache.set(k, f"text value {i} ✓")
            elif r == 3:
                cache.incr(f"counter{i % 5}")
            elif r == 4 and i % 3 == 0:
                cache.delete(k)
            else:
                cache.get(k, default=None)
        print(len(cache), file=sys.stderr)


if __name__ == "__main__":
    main()
