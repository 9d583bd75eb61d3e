"""HAProxy on a fleet's load-balancer host, driven through its runtime API over SSH.

The config, the slot moves (ready / drain / maint, weights), the drain wait
and the reading of server states are ``HAProxyRouter``'s, unchanged: only
where commands go and where files live differ. A runtime-API command travels
over the LB host's SSH connection to HAProxy's unix socket (no ``socat``
needed there, nothing listening on the network) — or, when the spec names
``router.admin``, straight to that TCP admin socket. HAProxy itself runs as a
program of the LB host's supervisord, and the config is validated there
(``haproxy -c``) before it replaces the old one.

A fleet moves many slots at once (a batch of a hundred hosts enables a
hundred servers from a hundred threads), and every move costs a round trip
here, not a local syscall. So moves made at the same time go on one line
(``slipway.router.batching``), concurrent readers share one fresh reading of
the server states (at most ``SHARED_READ_S`` old, and never older than this
router's last change), and concurrent saves of the server-state file
coalesce: a save that starts after a change includes it, so a change whose
save is already covered by a later one does not save again.
"""

from __future__ import annotations

import json
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError, HostFailed
from slipway.router import ports, ring
from slipway.router.base import ServerState
from slipway.router.batching import CommandBatcher
from slipway.router.haproxy import (
    CONFIG_FILE,
    PROGRAM,
    HAProxyRouter,
    exchange,
)
from slipway.router.haproxy_config import SOCKET, STATE_FILE, HAProxyConfig, haproxy_errors
from slipway.router.ports import port_taken
from slipway.ssh.pool import SshPool
from slipway.supervisord.remote import RemoteSupervisor, tar_of

q = shlex.quote
SHARED_READ_S = 0.05
# HAProxy's admin socket takes `stats maxconn` connections at once (32 in Slipway's config;
# HAProxy's default is 10) and leaves the next waiting: a hundred threads enabling slots
# together queue here instead, leaving room for a runner following the request log and for
# other tools.
API_CONNECTIONS = 8
PORTS_SCRIPT = ".ports.py"  # slipway/router/ports.py, run on the LB host by its python
REJECTED, HELD = 10, 11  # exit statuses of the command staging a config (`_astage`)


class RemoteHAProxyRouter(HAProxyRouter):
    """``HAProxyRouter`` whose HAProxy runs on ``host``, reached through ``pool``."""

    def __init__(
        self,
        config: HAProxyConfig,
        pool: SshPool,
        host: str,
        *,
        python: str,
        supervisor_dir: str,
        clock: Clock | None = None,
    ) -> None:
        # Not HAProxyRouter.__init__: nothing here is a local path or a local supervisord.
        self.config = config
        self._clock = clock or SystemClock()
        self._state_lock = threading.Lock()
        self.pool = pool
        self.host = host
        self.run = str(config.run_dir)
        self.remote_socket = f"{self.run}/{SOCKET}"
        self.sv = RemoteSupervisor(pool, host, supervisor_dir, python=python)
        self._api = threading.BoundedSemaphore(API_CONNECTIONS)
        self._read_lock = threading.Lock()  # one reading of the server states at a time
        self._reading: tuple[float, int, list[ServerState]] | None = None  # at, generation, …
        self._gen_lock = threading.Lock()
        self._generation = 0  # bumped by every change this router makes
        self._saved_generation = 0
        self._batcher = CommandBatcher(self.command)

    def _current_generation(self) -> int:
        with self._gen_lock:
            return self._generation

    def servers(self) -> list[ServerState]:
        """A reading taken after every change made before this call (the caller's own
        included); callers waiting while one is taken share the next one.

        A reading begun after this call is always good enough for it: so however long a
        reading takes, threads that queued up behind it share the one that follows instead
        of taking one each in turn (a hundred stopping slots asking at once).
        """
        asked = time.monotonic()
        wanted = self._current_generation()
        with self._read_lock:
            cached = self._reading
            if cached is not None and (
                cached[0] >= asked
                or (cached[1] >= wanted and time.monotonic() - cached[0] < SHARED_READ_S)
            ):
                return list(cached[2])
            generation = self._current_generation()
            started = time.monotonic()
            found = super().servers()
            self._reading = (started, generation, found)
            return list(found)

    def _set(self, slot: str, what: str) -> None:
        line = f"set server {self.config.backend}/{slot} {what}"
        answer = self._batcher.run(line).strip()  # with the other threads' moves
        with self._gen_lock:
            self._generation += 1
        if answer:
            raise BackendError(f"HAProxy refused `set server {slot} {what}`: {answer}")
        self._save_state()

    def _answering(self) -> bool:
        return not self.pool.is_down(self.host)

    def command(self, line: str) -> str:
        with self._api:
            if self.config.admin_address is not None:
                return self._tcp_command(line)
            try:
                answer = self.pool.unix(self.host, self.remote_socket, line.encode() + b"\n")
            except HostFailed as exc:
                raise BackendError(f"HAProxy on {exc}") from exc
            return answer.decode(errors="replace")

    def _tcp_command(self, line: str) -> str:
        assert self.config.admin_address is not None
        address, port = self.config.admin_address
        try:
            with socket.create_connection((address, port), timeout=5) as conn:
                return exchange(conn, line)
        except OSError as exc:
            raise BackendError(
                f"HAProxy's admin socket {address}:{port} does not answer: {exc}"
            ) from exc

    def _ring_stream(self) -> ring.Stream:
        """The LB host's runtime API: its TCP admin socket, or its unix socket over SSH."""
        if self.config.admin_address is not None:
            return ring.tcp_stream(self.config.admin_address)

        def over_ssh(request: bytes, feed: ring.Feed, ended: ring.Ended) -> None:
            self.pool.call(
                self.pool.afollow_unix(self.host, self.remote_socket, request, feed, ended)
            )

        return over_ssh

    # header routes: refused on a fleet's LB when the spec is read; these keep a rollback's
    # "remove the routes first" and `slipway status` true to that (there are none)

    def route(self, *, match: str, name: str, value: str | None, slots: Sequence[str]) -> None:
        raise BackendError(
            f"header routes on the LB host {self.host} are not supported",
            hint="route by header through the environment's own HAProxy",
        )

    def clear_routes(self) -> None:
        return None

    def routes_in_effect(self) -> list[tuple[str, str, str, list[str]]]:
        return []

    def ensure_up(self) -> None:
        try:
            self.pool.call(self._ensure_up())
        except HostFailed as exc:
            raise BackendError(f"HAProxy's host {exc}") from exc
        self._wait_answering()

    async def _ensure_up(self) -> None:
        """As ``HAProxyRouter.ensure_up``, on the LB host: the new config checked there
        (``haproxy -c``) and the ports it binds looked at there (``ports.py``, run by the
        host's python) in the same command that renames it into place."""
        await self.sv.aensure_running()
        cfg = f"{self.run}/{CONFIG_FILE}"
        text = self.config.render()
        old = await self.pool.arun(self.host, f"cat {q(cfg)} 2>/dev/null || true")
        changed = old.stdout != text
        info = await self.sv.ainfo(PROGRAM)
        running = info is not None and info["statename"] == "RUNNING"
        if changed or not running:
            ours = int(info["pid"]) if running and info is not None else None
            await self._astage(text if changed else None, ours=ours)
        files = self.sv.program_files(
            PROGRAM,
            command=["haproxy", "-W", "-db", "-f", cfg],
            directory=self.run,
            env={},
            stop_timeout_s=10,
            start_secs=1,
        )
        await self.sv.awrite(files)
        await self.sv.aupdate(PROGRAM)
        info = await self.sv.ainfo(PROGRAM)
        if info is not None and info["statename"] == "RUNNING":
            if changed:
                await self._asave_state()
                await self.sv.acall("supervisor.signalProcess", PROGRAM, "USR2")
                self._clock.sleep(0.3)
        else:
            await self.sv.astart(PROGRAM)

    async def _astage(self, text: str | None, *, ours: int | None) -> None:
        """Check ``text`` (if any) and the ports; then rename it into place. Refused, the
        candidate is deleted and the config in place stays."""
        cfg = f"{self.run}/{CONFIG_FILE}"
        new = q(cfg + ".new")
        request = json.dumps({"binds": self.config.binds(), "ours": ours})
        files = {PORTS_SCRIPT: (Path(ports.__file__).read_bytes(), 0o600)}
        steps = [f"mkdir -p {q(self.run)}", f"tar -xf - -C {q(self.run)}"]
        if text is not None:
            files[CONFIG_FILE + ".new"] = (text.encode(), 0o600)
            steps.append(f"{{ haproxy -c -f {new} >&2 || {{ rm -f {new}; exit {REJECTED}; }}; }}")
        steps.append(
            f"{{ {q(self.sv.python)} {q(self.run + '/' + PORTS_SCRIPT)} {q(request)} "
            f"|| {{ rm -f {new}; exit {HELD}; }}; }}"
        )
        if text is not None:
            steps.append(f"mv -f {new} {q(cfg)}")
        result = await self.pool.arun(
            self.host, " && ".join(steps), stdin=tar_of(files), check=False
        )
        if result.ok:
            return
        if result.exit_status == HELD:
            try:
                held = json.loads(result.stdout)
            except ValueError:
                held = None
            if isinstance(held, list) and held:
                raise BackendError(f"on {self.host}: {port_taken(held, cfg)}")
        if result.exit_status == REJECTED:
            raise BackendError(
                f"HAProxy on {self.host} rejects its config:\n{haproxy_errors(result.stderr)}"
            )
        raise BackendError(
            f"HAProxy's config on {self.host} could not be put in place: "
            f"{(result.stderr or result.stdout).strip()[-800:]}"
        )

    async def _asave_state(self) -> None:
        try:
            raw = await self.pool.aunix(self.host, self.remote_socket, b"show servers state\n")
        except HostFailed:
            return
        state = raw.decode(errors="replace")
        if state.startswith("1\n"):
            await self._awrite_state(state)

    async def _awrite_state(self, state: str) -> None:
        path = f"{self.run}/{STATE_FILE}"
        await self.pool.arun(
            self.host,
            f"cat > {q(path + '.tmp')} && mv {q(path + '.tmp')} {q(path)}",
            stdin=state.encode(),
        )

    def _save_state(self) -> None:
        wanted = self._current_generation()
        with self._state_lock:
            if self._saved_generation >= wanted:
                return  # a save that began after this change already wrote it
            reading = self._current_generation()
            try:
                state = self.command("show servers state")
            except BackendError:
                return  # nothing running: the file on the host is still the last known state
            if not state.startswith("1\n"):
                return
            try:
                self.pool.call(self._awrite_state(state))
            except HostFailed as exc:
                raise BackendError(f"HAProxy's host {exc}") from exc
            self._saved_generation = reading

    def down(self) -> None:
        if self.pool.is_down(self.host):
            return

        async def stop() -> None:
            if await self.sv.ais_running() and await self.sv.ainfo(PROGRAM) is not None:
                await self._asave_state()
                await self.sv.astop(PROGRAM)

        self.pool.call(stop())
