"""Benchmarks of camhub under gunicorn on PostgreSQL (see docs/benchmarks.md)."""
