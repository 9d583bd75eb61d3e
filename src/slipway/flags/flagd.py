"""The flagd flag file: the environment's flags in flagd's format, for teams that run flagd.

Written whole on every change (a temporary file renamed into place, so flagd's file watcher
never reads half of one). Each flag is boolean (``on``/``off``, default ``off``); its share
is flagd's ``fractional`` shorthand, which buckets by ``[flagKey, targetingKey]`` exactly as
Slipway's own server does (``evaluation.bucket``): both serve every user the same variant.
A killed flag is ``state: DISABLED``. Schema: https://flagd.dev/schema/v0/flags.json.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from slipway.flags.evaluation import BUCKETS, OFF, ON, VARIANTS, Flag

SCHEMA = "https://flagd.dev/schema/v0/flags.json"


def flagd_flag(flag: Flag) -> dict[str, Any]:
    """One flag as flagd defines it."""
    entry: dict[str, Any] = {
        "state": "ENABLED" if flag.enabled else "DISABLED",
        "variants": dict(VARIANTS),
        "defaultVariant": ON if flag.weight >= BUCKETS else OFF,
        "metadata": {"weight": flag.weight},
    }
    split: Any = None
    if 0 < flag.weight < BUCKETS:
        split = {"fractional": [[ON, flag.weight], [OFF, BUCKETS - flag.weight]]}
    if flag.on_for:
        listed = {"in": [{"var": "targetingKey"}, sorted(flag.on_for)]}
        split = {"if": [listed, ON, split if split is not None else entry["defaultVariant"]]}
    if split is not None:
        entry["targeting"] = split
    return entry


def flagd_document(flags: Iterable[Flag], *, flag_set: str, revision: int) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "metadata": {"flagSetId": flag_set, "version": str(revision)},
        "flags": {flag.key: flagd_flag(flag) for flag in sorted(flags, key=lambda f: f.key)},
    }


def write_flagd_file(path: Path, document: dict[str, Any]) -> None:
    """Replace ``path`` with ``document`` at once (readable by its owner and group)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".flags-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, sort_keys=True)
            out.write("\n")
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
