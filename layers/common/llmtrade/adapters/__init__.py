"""Implementations of the ports: local (offline, embedded) and cloud (AWS, HTTP)."""
