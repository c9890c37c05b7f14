"""HTTP gateway vs direct: requests/s and added latency (benchmarks/http_compare/run.py)."""
