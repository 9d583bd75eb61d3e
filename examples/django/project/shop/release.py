"""What this release is: ``release.json`` beside the project, written by ``build.py`` from
the catalogue (``releases.json``). Releases misbehave on purpose through it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
try:
    RELEASE: dict[str, Any] = json.loads((BASE_DIR / "release.json").read_text())
except OSError:  # a checkout, not a release
    RELEASE = {"version": "dev", "schema": 4}
VERSION = str(RELEASE.get("version", "dev"))
SCHEMA = int(RELEASE.get("schema", 1))
