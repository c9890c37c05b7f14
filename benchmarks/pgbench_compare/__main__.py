"""``python -m benchmarks.pgbench_compare`` (from the repository root)."""

from benchmarks.pgbench_compare.run import main

raise SystemExit(main())
