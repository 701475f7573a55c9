"""Benchmarks that print figures (and ratios against baselines measured in the same run).

`printfleet bench ingest` (printfleet.bench.ingest) measures the fleet
worker's ingest path end to end: its own broker, store and simulated devices.
"""
