"""Helpers shared by the benchmarks under `benchmarks/` (standard library only).

- `processes`: free ports, child processes that are always stopped (Ctrl-C included)
- `procstat`: CPU seconds and RSS of a process, machine CPU use, a machine description
- `wardgate`: run ``wardgate serve`` from a config dict and read its ready file
- `stats`: interleaved round schedules and summaries of repeated measurements
- `results`: where results go and how they are written (JSON beside the plot)
- `plot`: a bar chart with one dot per round, if matplotlib is installed
- `pyspy`: fold py-spy's raw (collapsed-stack) output into self/inclusive tables

Each benchmark is a package beside this one, runnable with
``python -m benchmarks.NAME`` from the repository root.
"""
