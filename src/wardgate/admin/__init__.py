"""The admin listener: health, readiness, metrics (and later the REST API and UI)."""
