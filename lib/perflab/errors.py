"""The one exception type that the CLI turns into a single line and exit code 2."""

from __future__ import annotations


class PerflabError(Exception):
    """Bad input or an unusable environment, with a message naming what and where."""

    exit_code = 2
