"""PostgreSQL v3 protocol plugin for wardgate."""
