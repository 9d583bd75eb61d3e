"""``slipway serve``: the HTTP API and the live dashboard, thin like the CLI — they ask the
library (``reports``, ``metrics``, ``engine.control``) and print what it says."""

from slipway.server.app import make_app
from slipway.server.site import Site

__all__ = ["Site", "make_app"]
