"""``python -m benchmarks.masking_compare`` (from the repository root)."""

from benchmarks.masking_compare.run import main

raise SystemExit(main())
