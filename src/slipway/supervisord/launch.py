"""``python -m slipway.supervisord.launch ENV_FILE -- ARGV…``: exec a program with the
environment in ENV_FILE.

supervisord's own ``environment=`` syntax cannot carry every value (it has
no escapes: a value with both kinds of quotes, or starting with one, is
mangled). So the local target writes an instance's environment to a JSON
file readable only by its owner, and supervisord runs this launcher, which
replaces itself (``execvpe``: same PID, same signals) with the real program.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m slipway.supervisord.launch ENV_FILE -- PROGRAM [ARGS…]")
    with open(argv[0], encoding="utf-8") as fh:
        extra = json.load(fh)
    os.execvpe(argv[2], argv[2:], {**os.environ, **extra})


if __name__ == "__main__":
    main(sys.argv[1:])
