"""``python -m benchmarks.http_compare`` (from the repository root)."""

from benchmarks.http_compare.run import main

raise SystemExit(main())
