"""HAProxy as the router: one backend of fixed slots, driven through the runtime API.

HAProxy runs in master-worker mode as the program ``haproxy`` of the
environment's supervisord. Every slot is a server of the backend, declared
``disabled`` (maintenance) in the config; Slipway moves slots between
``ready``, ``drain`` and ``maint`` with ``set server`` on the admin socket and
never edits the config for that. After each change it saves ``show servers
state`` to the server-state file, which the config loads at start and reload
(``load-server-state-from-file``), so a reload or a restart of HAProxy keeps
what the runtime API set instead of putting every slot back in maintenance.

Zero failed requests while slots change relies on three things here:
``drain`` waits until the slot has no session left before it goes to
maintenance; ``retry-on`` + ``option redispatch`` resend a request whose
connection failed or came back empty (a keep-alive connection the instance
closed as it stopped) to another server; and HTTP health checks take a slot
out of rotation if its process dies anyway.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError, PermanentError
from slipway.router import maintenance, ports, ring
from slipway.router.base import AdminState, ServerState
from slipway.router.haproxy_config import STATE_FILE, HAProxyConfig, haproxy_errors
from slipway.router.header_routes import MapRoutes

if TYPE_CHECKING:  # the local router's; a fleet's router (``remote``) runs HAProxy over SSH
    from slipway.supervisord.local import Supervisor

PROGRAM = "haproxy"
CONFIG_FILE = "haproxy.cfg"
DRAIN_POLL_S = 0.05
ANSWER_TIMEOUT_S = 15.0
# srv_admin_state flags (HAProxy's SRV_ADMF_*): forced, inherited, resolution and hostname
# maintenance; forced and inherited drain. 0x04 (CMAINT) only remembers that the config said
# `disabled`: it stays set after `set server … state ready` and is not maintenance.
MAINT_BITS = 0x01 | 0x02 | 0x20 | 0x40
DRAIN_BITS = 0x08 | 0x10


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise BackendError(
            "HAProxy is not installed: install it with `sudo apt-get install haproxy` "
            "(Debian/Ubuntu, version 2.6 or later)"
        )
    return found


class HAProxyRouter:
    def __init__(
        self, config: HAProxyConfig, supervisor: Supervisor, *, clock: Clock | None = None
    ) -> None:
        self.config = config
        self._sv = supervisor
        self._clock = clock or SystemClock()
        self._run = config.run_dir.resolve()
        self.socket = config.admin_socket
        self._state_lock = threading.Lock()
        self.maintenance_html = maintenance.DEFAULT_PAGE  # the spec's page, when it has one
        self.bypass_token: str | None = None  # the testers' token (a secret of the runner's)
        self.routes = MapRoutes(self._run, config.routes, self.command)

    def follow_request_log(self, on_line: Callable[[str], None], stop: threading.Event) -> None:
        """Hand each request HAProxy logs from now on to ``on_line``, until ``stop`` is set
        (``router/ring.py``: the log ring, through the runtime API)."""
        ring.follow(self._ring_stream(), on_line, stop)

    def _ring_stream(self) -> ring.Stream:
        return ring.unix_stream(self.socket)

    # lifecycle

    def ensure_up(self) -> None:
        """Start HAProxy, or reload it if its config changed; refuse a port someone else holds.

        The new config is checked (``haproxy -c``) and the ports it binds are looked at before
        it replaces the old one: refused, the running HAProxy and its config stay as they
        were. A port held by anything but this environment's own HAProxy is an error naming
        the holder; HAProxy's ``noreuseport`` would refuse it anyway, less helpfully.
        """
        self._sv.ensure_running()
        cfg = self._run / CONFIG_FILE
        text = self.config.render()
        if self.config.maintenance is not None:  # HAProxy reads the page and maps at start
            self.config.maintenance.write_files(html=self.maintenance_html, token=self.bypass_token)
        changed = not cfg.exists() or cfg.read_text() != text
        info = self._sv.info(PROGRAM)
        running = info is not None and info["statename"] == "RUNNING"
        self.routes.ensure_files()  # before a check or a start: HAProxy needs its map files
        if changed:
            candidate = cfg.with_suffix(".new")
            candidate.write_text(text)
            try:
                self._validate(candidate)
            except BackendError:
                candidate.unlink(missing_ok=True)
                raise
        if changed or not running:
            ours = int(info["pid"]) if running and info is not None else None
            held = ports.holders(self.config.binds(), ours=ours)
            if held:
                cfg.with_suffix(".new").unlink(missing_ok=True)
                raise BackendError(ports.port_taken(held, str(cfg)))
        if changed:
            cfg.with_suffix(".new").replace(cfg)
        binary = haproxy_binary()
        self._sv.put_program(
            PROGRAM,
            command=[binary, "-W", "-db", "-f", str(cfg)],
            directory=self._run,
            env={},
            stop_timeout_s=10,
        )
        info = self._sv.info(PROGRAM)
        if info is not None and info["statename"] == "RUNNING":
            if changed:
                self._save_state()
                self._sv.signal(PROGRAM, "USR2")  # master-worker reload, state file kept
                self._clock.sleep(0.3)
        else:
            self._sv.start(PROGRAM)
        self._wait_answering()

    def _validate(self, cfg: Path) -> None:
        result = subprocess.run(
            [haproxy_binary(), "-c", "-f", str(cfg)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            errors = haproxy_errors(result.stderr)
            raise BackendError(f"HAProxy rejects its config {cfg}:\n{errors}")

    def _wait_answering(self) -> None:
        deadline = self._clock.monotonic() + ANSWER_TIMEOUT_S
        while True:
            try:
                self.command("show info")
                return
            except BackendError:
                if self._clock.monotonic() > deadline:
                    raise
                self._clock.sleep(0.05)

    def down(self) -> None:
        if self._sv.is_running() and self._sv.info(PROGRAM) is not None:
            self._save_state()
            self._sv.stop(PROGRAM)

    def route(self, *, match: str, name: str, value: str | None, slots: Sequence[str]) -> None:
        self.routes.route(match=match, name=name, value=value, slots=slots)

    def clear_routes(self) -> None:
        self.routes.clear()

    def routes_in_effect(self) -> list[tuple[str, str, str, list[str]]]:
        return [
            (match, name, value, [s for s in slots.split(",") if s])
            for (match, name), entries in self.routes.current().items()
            for value, slots in entries.items()
        ]

    # the runtime API

    def command(self, line: str) -> str:
        """Send one runtime-API command; return its answer."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5)
                conn.connect(str(self.socket))
                return exchange(conn, line)
        except OSError as exc:
            raise BackendError(
                f"HAProxy's admin socket {self.socket} does not answer: {exc}"
            ) from exc

    def set_maintenance(self, on: bool) -> None:
        maintenance.switch(self, self._page(), on)

    def in_maintenance(self) -> bool:
        return maintenance.is_on(self, self._page())

    def _page(self) -> maintenance.MaintenancePage:
        if self.config.maintenance is None:
            raise PermanentError("the spec has no `router.maintenance`: no page to serve")
        return self.config.maintenance

    def _set(self, slot: str, what: str) -> None:
        answer = self.command(f"set server {self.config.backend}/{slot} {what}").strip()
        if answer:
            raise BackendError(f"HAProxy refused `set server {slot} {what}`: {answer}")
        self._save_state()

    def _save_state(self) -> None:
        try:
            state = self.command("show servers state")
        except BackendError:
            return  # nothing running: the file on disk is still the last known state
        if state.startswith("1\n"):
            with self._state_lock:  # the engine enables a batch of slots from several threads
                tmp = self._run / f"{STATE_FILE}.{os.getpid()}.tmp"
                tmp.write_text(state)
                tmp.replace(self._run / STATE_FILE)

    def enable(self, slot: str, *, weight: int = 100) -> None:
        """Send the slot traffic; return once HAProxy routes to it.

        A server leaving maintenance with health checks on stays DOWN until its first check
        passes: returning before that would let a lone new server answer 503s.
        """
        self._set(slot, f"weight {weight}")
        self._set(slot, "state ready")
        self._wait_up(slot)

    def set_weight(self, slot: str, weight: int) -> None:
        self._set(slot, f"weight {weight}")

    def standby(self, slot: str) -> None:
        """Checked and ready, but no new traffic: HAProxy's ``drain`` state.

        Health checks go on in drain (not in maintenance), so a slot on standby is known UP
        and a later ``switch`` to it takes effect at once.
        """
        if self._admin(slot) != "drain":
            self._set(slot, "state drain")
        self._wait_up(slot)

    def switch(self, *, ready: Mapping[str, int], drain: Sequence[str]) -> None:
        """Move traffic in one runtime-API message: ``ready`` slots get their weights and
        traffic, ``drain`` slots get no new requests (in-flight ones finish)."""
        for slot in ready:
            if self._admin(slot) == "maint":
                self.standby(slot)
        commands = []
        for slot, weight in ready.items():
            commands.append(f"set server {self.config.backend}/{slot} weight {weight}")
            commands.append(f"set server {self.config.backend}/{slot} state ready")
        commands += [f"set server {self.config.backend}/{slot} state drain" for slot in drain]
        if not commands:
            return
        answer = self.command("; ".join(commands)).strip()
        if answer:
            raise BackendError(f"HAProxy refused part of a traffic switch: {answer}")
        self._save_state()

    def _wait_up(self, slot: str) -> None:
        """Until HAProxy's own checks see the slot UP (a slot out of maintenance starts DOWN)."""
        if not self.config.health_path:
            return
        deadline = self._clock.monotonic() + 3 * self.config.check_interval_s + 2
        while True:
            server = self._server(slot)
            if server is not None and server.operational.startswith(("UP", "DRAIN UP")):
                return
            if self._clock.monotonic() > deadline:
                state = server.operational if server else "absent"
                raise BackendError(f"HAProxy still has {slot} {state} after its checks started")
            self._clock.sleep(DRAIN_POLL_S)

    def disable(self, slot: str) -> None:
        if self._admin(slot) != "maint":
            self._set(slot, "state maint")

    def drain(self, slot: str, *, timeout_s: float) -> bool:
        if self._admin(slot) == "maint":
            return True
        self._set(slot, "state drain")
        deadline = self._clock.monotonic() + timeout_s
        drained = False
        while True:
            server = self._server(slot)
            if server is None or server.sessions == 0:
                drained = True
                break
            if self._clock.monotonic() > deadline:
                break
            self._clock.sleep(DRAIN_POLL_S)
        self._set(slot, "state maint")
        return drained

    # reading state

    def _admin(self, slot: str) -> AdminState | None:
        server = self._server(slot)
        return server.admin if server else None

    def _server(self, slot: str) -> ServerState | None:
        for server in self.servers():
            if server.slot == slot:
                return server
        return None

    def _answering(self) -> bool:
        """Whether asking is worth it (the local socket exists); saves a timeout when not."""
        return self.socket.exists()

    def servers(self) -> list[ServerState]:
        if not self._answering():
            return []
        try:
            stat = self.command(f"show stat {self.config.backend} 4 -1")
            state = self.command(f"show servers state {self.config.backend}")
        except BackendError:
            return []
        admin_bits, op_states = _admin_bits(state)
        result = []
        for row in csv.DictReader(io.StringIO(stat.lstrip("# "))):
            name = row.get("svname", "")
            if row.get("pxname") != self.config.backend or name in ("BACKEND", "FRONTEND", ""):
                continue
            bits = admin_bits.get(name, 0)
            admin: AdminState = (
                "maint" if bits & MAINT_BITS else "drain" if bits & DRAIN_BITS else "ready"
            )
            host, _, port = row.get("addr", "").rpartition(":")
            result.append(
                ServerState(
                    slot=name,
                    address=host,
                    port=int(port) if port.isdigit() else 0,
                    admin=admin,
                    # In drain, `status` says DRAIN whether checks pass or not: the op state
                    # of `show servers state` (2 = running) tells if HAProxy sees it UP.
                    operational=_operational(row.get("status", ""), op_states.get(name)),
                    weight=int(row.get("weight") or 0),
                    sessions=int(row.get("scur") or 0) + int(row.get("qcur") or 0),
                )
            )
        return result


def _admin_bits(state: str) -> tuple[dict[str, int], dict[str, int]]:
    """srv_admin_state and srv_op_state per server, from ``show servers state``."""
    lines = state.splitlines()
    header = next((ln for ln in lines if ln.startswith("# be_id")), None)
    if header is None:
        return {}, {}
    columns = header.lstrip("# ").split()
    bits = {}
    ops = {}
    for line in lines:
        if not line or line.startswith("#") or line.strip() == "1":
            continue
        fields = dict(zip(columns, line.split(), strict=False))
        if "srv_name" in fields:
            bits[fields["srv_name"]] = int(fields.get("srv_admin_state", "0"))
            ops[fields["srv_name"]] = int(fields.get("srv_op_state", "0"))
    return bits, ops


def _operational(status: str, op_state: int | None) -> str:
    """HAProxy's status, with a draining server's health made explicit: ``DRAIN UP``."""
    if status.startswith("DRAIN") and op_state is not None:
        return "DRAIN UP" if op_state == 2 else "DRAIN DOWN"
    return status


def exchange(conn: socket.socket, line: str) -> str:
    """One runtime-API command on an open connection, and all it answers until it closes."""
    conn.sendall(line.encode() + b"\n")
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
