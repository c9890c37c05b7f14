"""Running the gateway: listeners, connection lifecycle, graceful shutdown."""
