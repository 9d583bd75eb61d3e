"""Who listens on a TCP address: the processes holding it, read from ``/proc``.

HAProxy is configured with ``noreuseport``, so a second one cannot silently
share a port with another environment's; but then its start fails with
HAProxy's bare "cannot bind socket". Slipway asks first, and names the
holder (pid and command) in its error — or finds the port held by this
environment's own HAProxy (its master and workers), which is no conflict.

Only the standard library, and no import of Slipway: on a fleet the same
file runs on the LB host as a script (``python3 - REQUEST``, the source on
stdin), where Slipway is not installed.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column
WILDCARDS = (ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::"))


def _address(hex_address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """``0100007F:1F90`` → (127.0.0.1, 8080); each 32-bit word is in host (little-endian) order."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words), int(port, 16)


def _listening() -> list[tuple[Any, int, str]]:
    """(address, port, socket inode) of every listening TCP socket of this network namespace."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == LISTEN:
                address, port = _address(fields[1])
                found.append((address, port, fields[9]))
    return found


def _overlaps(held: Any, wanted: Any) -> bool:
    """Whether binding ``wanted`` collides with a socket bound to ``held`` (same port)."""
    return held == wanted or held in WILDCARDS or wanted in WILDCARDS


def _sockets_by_inode(inodes: set[str]) -> dict[str, int]:
    """inode → pid of a process holding it (among the processes this user may look into)."""
    owners: dict[str, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{entry}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owners.setdefault(target[8:-1], int(entry))
    return owners


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return parents


def _tree(root: int) -> set[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


def _numeric(host: str) -> str:
    return "127.0.0.1" if host == "localhost" else host


def command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            words = fh.read().rstrip(b"\0").split(b"\0")
    except OSError:
        return "?"
    return " ".join(w.decode(errors="replace") for w in words)[:300] or "?"


def holders(binds: Iterable[tuple[str, int]], *, ours: int | None = None) -> list[dict[str, Any]]:
    """Who holds any of ``binds`` (host, port), leaving out ``ours`` and the processes below it
    (an HAProxy master and its workers). Each: ``address``, ``pid`` (None when the socket
    belongs to a process this user cannot look into) and ``command``."""
    wanted = [(ipaddress.ip_address(_numeric(host)), port) for host, port in binds]
    clashes = [
        (address, port, inode)
        for address, port, inode in _listening()
        if any(port == p and _overlaps(address, w) for w, p in wanted)
    ]
    if not clashes:
        return []
    owners = _sockets_by_inode({inode for _, _, inode in clashes})
    mine = _tree(ours) if ours else set()
    result = []
    for address, port, inode in clashes:
        pid = owners.get(inode)
        if pid is not None and pid in mine:
            continue
        where = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        result.append({"address": where, "pid": pid, "command": command_of(pid) if pid else "?"})
    return result


def describe(found: Sequence[dict[str, Any]]) -> str:
    """``127.0.0.1:8080 is held by pid 123 (haproxy -W -db -f …)``, for every holder."""
    parts = []
    for holder in found:
        if holder["pid"] is None:
            parts.append(f"{holder['address']} is held by a process of another user")
        else:
            pid, command = holder["pid"], holder["command"]
            parts.append(f"{holder['address']} is held by pid {pid} ({command})")
    return "; ".join(parts)


def main(argv: Sequence[str]) -> int:
    """``ports.py '{"binds": [[host, port], …], "ours": pid}'``: the holders as JSON; exit
    status 1 when there are any."""
    request = json.loads(argv[0])
    binds = [(str(host), int(port)) for host, port in request["binds"]]
    found = holders(binds, ours=request.get("ours"))
    print(json.dumps(found))
    return 1 if found else 0


if __name__ == "__main__":  # on a fleet's LB host
    sys.exit(main(sys.argv[1:]))


def port_taken(held: Sequence[dict[str, Any]], config_file: str) -> str:
    """The error for ports held by others; an HAProxy running this environment's own config
    outside its supervisord (left by one that was killed) is said to be that."""
    if any(f"-f {config_file}" in str(h["command"]) for h in held):
        return (
            f"HAProxy cannot listen: {describe(held)}, an HAProxy of this environment "
            "that its supervisord no longer knows (left by a supervisord that was killed?): "
            "stop it by its pid, then try again"
        )
    return (
        f"HAProxy cannot listen: {describe(held)}. Another environment (another "
        "checkout, another user) may serve this port: stop it (`slipway down` there), or give "
        "this environment's router another `listen` port"
    )
