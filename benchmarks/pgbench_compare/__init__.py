"""pgbench select-only through nothing, PgBouncer and wardgate, interleaved.

Run ``.venv/bin/python -m benchmarks.pgbench_compare --help`` from the repository root
(or ``python benchmarks/pgbench_compare/run.py``); see benchmarks/README.md.
"""
