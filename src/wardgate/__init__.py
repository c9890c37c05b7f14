"""wardgate: identity-aware wire-protocol gateway."""

__version__ = "0.1.0"
