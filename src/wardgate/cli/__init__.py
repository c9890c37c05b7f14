"""The `wardgate` command line."""
