"""Containers: a Docker engine reached through one client module (``engine``)."""
