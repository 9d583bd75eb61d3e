"""Header- and cookie-routed canaries in HAProxy: maps changed through the runtime API.

A canary step ``set_header_route: {name: canary, value: "true"}`` (Argo's ``setHeaderRoute``)
sends every request carrying ``canary: true`` to the canary's slots whatever the weights, so
testers (and smoke tests through the router) reach it on purpose. HAProxy cannot take a header
*name* at runtime, so each route the strategy declares is one line of the config, written
once (``HAProxyConfig.routes``)::

    http-request set-var(txn.route) req.hdr(canary),map_str('<run>/route-header-canary.map')
    use-server web-1_b if { var(txn.route) -m sub ,web-1_b, }      # one per slot

and what changes at runtime is the map: ``value → ,slot,slot,``. An empty map routes nothing.
A map is replaced in one atomic operation (``prepare map`` / ``add map @version`` /
``commit map``: no request sees it half-written) and written to its file first, which HAProxy
reads again at a reload or restart — as the server-state file keeps the slots' states.

``use-server`` skips a slot that is down or in maintenance (the request is then balanced as
usual), and takes one on standby (drain): a canary reached by header before any weight. With
several canary slots, routed requests go to the first one up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from slipway.errors import BackendError, PermanentError

MATCHES = ("header", "cookie")
_FETCH = {"header": "req.hdr", "cookie": "req.cook"}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VALUE = re.compile(r"[A-Za-z0-9._~+-]{1,128}")
_PATH = re.compile(r"[A-Za-z0-9_./+-]+")  # the runtime API splits its arguments on spaces


def map_file(run_dir: Path, match: str, name: str) -> Path:
    """Where the map of one route is: a plain path, or an error saying why it cannot be."""
    if match not in MATCHES or not _NAME.fullmatch(name):
        raise PermanentError(f"{match} {name!r} cannot be routed on: a plain name is needed")
    path = run_dir / f"route-{match}-{name.lower()}.map"
    if not _PATH.fullmatch(str(path)):
        raise PermanentError(
            f"the route map {path} has a character HAProxy's runtime API cannot take: use a "
            "state_dir with letters, digits and ./_+- only for header routes"
        )
    return path


def config_lines(
    run_dir: Path, routes: Sequence[tuple[str, str]], slots: Sequence[str]
) -> list[str]:
    """The backend's lines for ``routes`` ((match, name) pairs): a variable set from each
    route's map, then one ``use-server`` per slot. None without routes."""
    if not routes:
        return []
    lines = [
        f"    http-request set-var(txn.route) {_FETCH[match]}({name.lower()}),"
        f"map_str('{map_file(run_dir, match, name)}')"
        for match, name in routes
    ]
    lines += [f"    use-server {slot} if {{ var(txn.route) -m sub ,{slot}, }}" for slot in slots]
    return lines


class MapRoutes:
    """The routes of one HAProxy: their map files and the runtime API that changes them."""

    def __init__(
        self, run_dir: Path, routes: Sequence[tuple[str, str]], command: Callable[[str], str]
    ) -> None:
        self._run = run_dir
        self._routes = [(match, name.lower()) for match, name in routes]
        self._command = command

    def ensure_files(self) -> None:
        """An empty map for each declared route without one: HAProxy refuses a config
        naming a map file that does not exist."""
        for match, name in self._routes:
            path = map_file(self._run, match, name)
            if not path.exists():
                path.write_text("")

    def route(self, *, match: str, name: str, value: str | None, slots: Sequence[str]) -> None:
        """Requests whose ``match`` ``name`` is ``value`` go to ``slots``; ``value`` None: the
        route is removed (every request balanced by weight again)."""
        if (match, name.lower()) not in self._routes:
            raise BackendError(
                f"HAProxy's config declares no route on {match} {name!r}",
                hint="the route comes from the canary's `set_header_route` steps: run "
                "`slipway up` (or a deploy) after adding one",
            )
        if value is not None and not _VALUE.fullmatch(value):
            raise PermanentError(f"{value!r} cannot be a route's value: a plain word is needed")
        entries = {value: "," + ",".join(slots) + ","} if value is not None and slots else {}
        self._replace(map_file(self._run, match, name), entries)

    def clear(self) -> None:
        """No route at all (a rollback: every request to the release it goes back to)."""
        for match, name in self._routes:
            self._replace(map_file(self._run, match, name), {})

    def current(self) -> dict[tuple[str, str], dict[str, str]]:
        """What each route's map holds, as HAProxy says: (match, name) → {value: slots}."""
        found: dict[tuple[str, str], dict[str, str]] = {}
        for match, name in self._routes:
            answer = self._command(f"show map {map_file(self._run, match, name)}")
            entries = {}
            for line in answer.splitlines():
                parts = line.split()
                if len(parts) == 3:  # <id> <key> <value>
                    entries[parts[1]] = parts[2]
            found[(match, name)] = entries
        return found

    def _replace(self, path: Path, entries: dict[str, str]) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{key} {value}\n" for key, value in entries.items()))
        tmp.replace(path)  # what a reload reads
        answer = self._command(f"prepare map {path}")
        version = re.search(r"New version created: (\d+)", answer)
        if version is None:
            raise BackendError(f"HAProxy did not prepare the map {path}: {answer.strip()}")
        at = f"@{version.group(1)} {path}"
        for key, value in entries.items():
            self._ok(self._command(f"add map {at} {key} {value}"), f"add map {key}")
        self._ok(self._command(f"commit map {at}"), "commit map")

    @staticmethod
    def _ok(answer: str, what: str) -> None:
        if answer.strip():
            raise BackendError(f"HAProxy refused `{what}`: {answer.strip()}")
