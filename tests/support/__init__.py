"""Helpers shared by the test suites: ports, certificates, servers, a fault proxy.

Everything here starts real processes or sockets and cleans up after itself; the
fixtures in ``tests/conftest.py`` decide when (once per session, lazily).
"""
