"""perflab: performance analysis and validation for SQLite schemas."""

__version__ = "0.1.0"
