"""What SQLite says: connections, DDL, plans, work counters, statement normalisation."""
