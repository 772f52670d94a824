"""Tests of several Antre server processes sharing one event log (Redis Streams)."""
