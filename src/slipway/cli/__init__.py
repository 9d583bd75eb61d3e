"""The command line: thin, it parses and prints; the library does the work."""

from slipway.cli.app import app, main

__all__ = ["app", "main"]
