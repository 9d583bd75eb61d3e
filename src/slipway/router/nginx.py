"""nginx as the router: the same ``Router`` as HAProxy, for teams that already run nginx.

Open-source nginx has no runtime API, so every change is a new config: the upstream is
rendered from the slots' states (kept in ``nginx-state.json`` beside it, which is also what
``servers`` reports), checked with ``nginx -t``, then applied with ``nginx -s reload``. A
reload is graceful: the master starts workers with the new upstream, and the old workers
stop accepting, finish the requests they hold, and exit. So *draining* a slot is a reload
without it, then waiting — bounded by the drain timeout — until every worker of the old
generation has exited: then no request can still reach the slot, and its process may stop.

What it cannot do that HAProxy can (``slipway plan`` and the README say so):

- changes are reloads, never runtime switches: a blue-green switch moves at once for new
  connections, but the old workers finish theirs on the old upstream;
- no active health checks (open-source nginx only notices failed connections), no
  per-request log for the ``haproxy`` analysis provider, no exporter, no maintenance page
  switched at runtime, no LB host on a fleet;
- client keep-alive is off: a reloading worker closes its idle keep-alive connections at
  once, which races a client sending its next request on one; without keep-alive every
  request has a connection of its own and none is lost.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from slipway.clock import Clock, SystemClock
from slipway.errors import BackendError, PermanentError
from slipway.router.base import AdminState, ServerState
from slipway.supervisord.local import Supervisor

PROGRAM = "nginx"
CONFIG_FILE = "nginx.conf"
STATE_FILE = "nginx-state.json"
RELOAD_WAIT_S = 30.0  # the longest an idle old generation takes to go, when not draining


@dataclass(frozen=True)
class NginxConfig:
    run_dir: Path
    listen_host: str
    listen_port: int
    backend: str
    slots: Sequence[tuple[str, int]]
    connect_timeout_s: float = 2.0
    server_timeout_s: float = 30.0

    def render(self, states: Mapping[str, tuple[AdminState, int]]) -> str:
        """nginx.conf with the slots ``ready`` (weight > 0) in the upstream; with none, one
        server marked ``down`` (nginx wants one) and every request answered 502."""
        run = self.run_dir.resolve()
        for word in (self.backend, self.listen_host, str(run)):
            if any(c in word for c in ";{}'\"\\$#\n\r\t ") or not word:
                raise PermanentError(f"{word!r} cannot be written into nginx.conf")
        ports = dict(self.slots)
        servers = [
            f"        server 127.0.0.1:{ports[slot]} weight={weight} max_fails=0;  # {slot}"
            for slot, (admin, weight) in sorted(states.items())
            if admin == "ready" and weight > 0 and slot in ports
        ] or ["        server 127.0.0.1:9 down;  # nothing serving"]
        listen = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        user = "    user nobody nogroup;\n" if os.geteuid() == 0 else ""
        return f"""# written by Slipway: edits are overwritten
daemon off;
master_process on;
worker_processes 1;
{user}pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {run}/nginx-tmp/body;
    proxy_temp_path {run}/nginx-tmp/proxy;
    fastcgi_temp_path {run}/nginx-tmp/fastcgi;
    uwsgi_temp_path {run}/nginx-tmp/uwsgi;
    scgi_temp_path {run}/nginx-tmp/scgi;
    keepalive_timeout 0;
    upstream {self.backend} {{
{chr(10).join(servers)}
    }}
    server {{
        listen {listen}:{self.listen_port};
        location / {{
            proxy_pass http://{self.backend};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout {max(1, round(self.connect_timeout_s))}s;
            proxy_read_timeout {max(1, round(self.server_timeout_s))}s;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


class NginxRouter:
    def __init__(
        self, config: NginxConfig, supervisor: Supervisor, *, clock: Clock | None = None,
        drain_timeout_s: float = 30.0,
    ) -> None:  # fmt: skip
        self.config = config
        self._sv = supervisor
        self._clock = clock or SystemClock()
        self._run = config.run_dir.resolve()
        self._drain_timeout_s = drain_timeout_s

    # state

    def _states(self) -> dict[str, tuple[AdminState, int]]:
        try:
            data = json.loads((self._run / STATE_FILE).read_text())
        except (OSError, ValueError):
            data = {}
        states: dict[str, tuple[AdminState, int]] = {}
        for slot, _ in self.config.slots:
            entry = data.get(slot, {})
            states[slot] = (entry.get("admin", "maint"), int(entry.get("weight", 100)))
        return states

    def _save(self, states: Mapping[str, tuple[AdminState, int]]) -> None:
        data = {slot: {"admin": a, "weight": w} for slot, (a, w) in states.items()}
        tmp = self._run / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, sort_keys=True))
        os.replace(tmp, self._run / STATE_FILE)

    # lifecycle

    def ensure_up(self) -> None:
        self._sv.ensure_running()
        tmp = self._run / "nginx-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # its workers run as nobody, and write request bodies here
            nobody = pwd.getpwnam("nobody")
            os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
        info = self._sv.info(PROGRAM)
        running = info is not None and info["statename"] == "RUNNING"
        changed = self._write(self._states())
        self._sv.put_program(
            PROGRAM,
            command=[_binary(), *self._where(self._run / CONFIG_FILE)],
            directory=self._run,
            env={},
            stop_timeout_s=10,
        )
        if running and changed:
            self._reload(timeout_s=RELOAD_WAIT_S)
        elif not running:
            self._sv.start(PROGRAM)

    def _where(self, config: Path) -> list[str]:
        """Its prefix, config and first error log: nothing of the system's nginx."""
        return ["-p", f"{self._run}/", "-e", str(self._run / "nginx-error.log"), "-c", str(config)]

    def _write(self, states: Mapping[str, tuple[AdminState, int]]) -> bool:
        """The config for ``states``, checked with ``nginx -t`` before it replaces the old one;
        whether it changed."""
        cfg = self._run / CONFIG_FILE
        text = self.config.render(states)
        if cfg.exists() and cfg.read_text() == text:
            return False
        candidate = cfg.with_suffix(".new")
        candidate.write_text(text)
        done = subprocess.run(
            [_binary(), "-t", "-q", *self._where(candidate)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            candidate.unlink(missing_ok=True)
            raise BackendError(f"nginx rejects its config: {done.stderr.strip()[-800:]}")
        candidate.replace(cfg)
        return True

    def _reload(self, *, timeout_s: float) -> bool:
        """``nginx -s reload``, then wait until the old generation of workers exited (their
        requests finished); whether they did within ``timeout_s``."""
        old = self._workers()
        done = subprocess.run(
            [_binary(), "-s", "reload", *self._where(self._run / CONFIG_FILE)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BackendError(f"nginx -s reload failed: {done.stderr.strip()[-500:]}")
        deadline = self._clock.monotonic() + timeout_s
        while any(_alive(pid) for pid in old):
            if self._clock.monotonic() > deadline:
                return False
            self._clock.sleep(0.05)
        return True

    def _workers(self) -> list[int]:
        info = self._sv.info(PROGRAM)
        master = int(info["pid"]) if info is not None and info["statename"] == "RUNNING" else 0
        if not master:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
        return found

    def _apply(self, states: dict[str, tuple[AdminState, int]], *, timeout_s: float) -> bool:
        self._save(states)
        if not self._write(states):
            return True
        return self._reload(timeout_s=timeout_s)

    def down(self) -> None:
        if self._sv.is_running() and self._sv.info(PROGRAM) is not None:
            self._sv.stop(PROGRAM)

    # the Router interface

    def servers(self) -> list[ServerState]:
        ports = dict(self.config.slots)
        return [
            ServerState(
                slot=slot,
                address="127.0.0.1",
                port=ports[slot],
                admin=admin,
                operational={"ready": "UP", "drain": "DRAIN", "maint": "MAINT"}[admin],
                weight=weight,
                sessions=0,
            )
            for slot, (admin, weight) in self._states().items()
        ]

    def enable(self, slot: str, *, weight: int = 100) -> None:
        self.switch(ready={slot: weight}, drain=[])

    def set_weight(self, slot: str, weight: int) -> None:
        states = self._states()
        states[slot] = (states[slot][0], weight)
        self._apply(states, timeout_s=RELOAD_WAIT_S)

    def standby(self, slot: str) -> None:
        """Out of the upstream, not stopped: nginx cannot check a server it sends nothing."""
        states = self._states()
        states[slot] = ("drain", states[slot][1])
        self._apply(states, timeout_s=RELOAD_WAIT_S)

    def switch(self, *, ready: Mapping[str, int], drain: Sequence[str]) -> None:
        states = self._states()
        for slot, weight in ready.items():
            states[slot] = ("ready", weight)
        for slot in drain:
            states[slot] = ("drain", states[slot][1])
        self._apply(states, timeout_s=RELOAD_WAIT_S)

    def drain(self, slot: str, *, timeout_s: float) -> bool:
        states = self._states()
        states[slot] = ("maint", states[slot][1])
        return self._apply(states, timeout_s=timeout_s)

    def disable(self, slot: str) -> None:
        states = self._states()
        if states[slot][0] != "maint":
            states[slot] = ("maint", states[slot][1])
            self._apply(states, timeout_s=self._drain_timeout_s)


def _binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BackendError("nginx is not installed (Debian: apt-get install nginx)")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
