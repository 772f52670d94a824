"""Antre's web layer: HTTP API, WebSocket push and pages, over the queue engine runtime."""
