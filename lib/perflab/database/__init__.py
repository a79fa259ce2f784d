"""The database a run measures: a generated dataset or a snapshot of the user's file."""
