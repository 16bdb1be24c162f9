"""Benchmarks for symdiff; ``python -m benchmarks.swell`` measures expression swell."""
