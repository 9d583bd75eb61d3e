"""``python -m slipway.supervisord.launch FILE [DIGEST]``: exec a program with the
argv and environment in FILE.

supervisord's config cannot carry every value: ``environment=`` has no
escapes (a value with both kinds of quotes, or starting with one, is
mangled), and a ``command`` holding a newline (``[sh, -c, "a\\nb"]``) breaks
the file. So the local target writes an instance's argv and environment to a
JSON file readable only by its owner, and supervisord runs this launcher,
which replaces itself (``execvpe``: same PID, same signals) with the real
program.

The program gets the file's environment and ``BASE_ENV`` of supervisord's
(which Slipway starts with nothing more), never the rest: not what the
runner that first started supervisord had (its ``DATABASE_URL``, its webhook
URLs), nor a value an earlier deploy set and this one removed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# The environment every supervisord, instance and HAProxy that Slipway starts begins with.
BASE_ENV = ("PATH", "HOME", "LANG", "TZ")


def main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[1] == "--":  # the form of an older Slipway: FILE -- ARGV…
        program, extra = argv[2:], _read(argv[0])
    elif len(argv) in (1, 2):  # FILE [DIGEST]: the digest only makes a change visible
        launch = _read(argv[0])
        program, extra = launch["argv"], launch["env"]
    else:
        sys.exit("usage: python -m slipway.supervisord.launch FILE [DIGEST]")
    base = {name: os.environ[name] for name in BASE_ENV if name in os.environ}
    os.execvpe(program[0], program, {**base, **extra})


def _read(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


if __name__ == "__main__":
    main(sys.argv[1:])
