"""``python -m benchmarks.connect_setup`` (from the repository root)."""

from benchmarks.connect_setup.run import main

raise SystemExit(main())
