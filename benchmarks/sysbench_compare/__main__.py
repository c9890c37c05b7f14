"""``python -m benchmarks.sysbench_compare`` (from the repository root)."""

from benchmarks.sysbench_compare.run import main

raise SystemExit(main())
