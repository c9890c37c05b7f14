"""wardgate's HTTP/1.1 reverse-proxy plugin (docs/http.md)."""
