"""The `postgres` entry point of the ``wardgate.protocols`` group."""

from __future__ import annotations

from wardgate.seam import ListenerContext
from wardgate_postgres.listener import PostgresListener
from wardgate_postgres.replay import serve_recording
from wardgate_postgres.settings import PostgresUpstream


class PostgresPlugin:
    name = "postgres"
    dialect = "postgres"
    default_port = 5432
    upstream_settings = PostgresUpstream
    serve_recording = staticmethod(serve_recording)  # `wardgate replay --serve`

    def create_listener(self, context: ListenerContext) -> PostgresListener:
        return PostgresListener(context)


plugin = PostgresPlugin()
