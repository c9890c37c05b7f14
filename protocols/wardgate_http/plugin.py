"""The `http` entry point of the ``wardgate.protocols`` group."""

from __future__ import annotations

from wardgate.seam import ListenerContext
from wardgate_http.listener import HttpListener
from wardgate_http.settings import HttpUpstream


class HttpPlugin:
    name = "http"
    dialect = ""
    default_port = 443
    upstream_settings = HttpUpstream

    def create_listener(self, context: ListenerContext) -> HttpListener:
        return HttpListener(context)


plugin = HttpPlugin()
