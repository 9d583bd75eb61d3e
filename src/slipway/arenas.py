"""Fewer malloc arenas: a fleet's deployment is one process with a thread per host worked on.

glibc gives each thread that allocates its own malloc arena (up to eight per core), and what
an arena once held stays resident: with a step thread per host, the same bytes of TLS
records, SSH packets and JSON cost many times their size. Two arenas (what many servers run
with: ``MALLOC_ARENA_MAX=2``) are enough for threads that mostly wait on the network. Set
before the first thread starts; ``MALLOC_ARENA_MAX`` in the environment wins, and other C
libraries (musl) have no arenas to limit.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # <malloc.h>
ARENAS = 2


def limit_malloc_arenas(count: int = ARENAS) -> bool:
    """Ask glibc for at most ``count`` arenas; whether it agreed."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(M_ARENA_MAX, count))
