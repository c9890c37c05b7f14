"""Vault (or OpenBao): login, dynamic-secret leases, KV references (docs/vault.md)."""
