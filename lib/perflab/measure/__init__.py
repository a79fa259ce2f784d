"""Timing and its statistics: latency, throughput, concurrency, scale."""
