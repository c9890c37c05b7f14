"""The `wardgate.protocols` entry point for MySQL and MariaDB (`mysql = ...:plugin`)."""

from __future__ import annotations

from dataclasses import dataclass

from wardgate.seam import ListenerContext, ProtocolListener
from wardgate_mysql.listener import MySQLListener
from wardgate_mysql.replay import serve_recording
from wardgate_mysql.settings import MySQLUpstream


@dataclass(frozen=True, slots=True)
class MySQLPlugin:
    name: str = "mysql"
    dialect: str = "mysql"
    default_port: int = 3306
    upstream_settings: type[MySQLUpstream] = MySQLUpstream
    serve_recording = staticmethod(serve_recording)  # `wardgate replay --serve`

    def create_listener(self, context: ListenerContext) -> ProtocolListener:
        return MySQLListener(context)


plugin = MySQLPlugin()
