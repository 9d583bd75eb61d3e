"""``haproxy.cfg`` of one environment: its frontend, its backend of fixed slots, the runtime
API, the request log and the exporter. Built only from validated words and quoted paths: a
value that would add a line is refused, never written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from slipway.errors import PermanentError
from slipway.router.header_routes import config_lines
from slipway.router.maintenance import MaintenancePage

SOCKET = "hap.sock"

STATE_FILE = "haproxy.state"

# One line per request: the server (slot) that answered, the status, the active time in ms,
# and the feature flag variant the app reported (``X-Flag-Variant: <flag>=<variant>``; "-"
# when none): what a flag rollout's analysis tells its two sides apart by.
LOG_FORMAT = "%s %ST %Ta %[var(txn.flag_variant)]"
FLAG_HEADER = "x-flag-variant"

LOG_RING = "requests"

LOG_RING_BYTES = 4 * 1024 * 1024  # what a slow reader may fall behind by before losing lines

STATS_MAXCONN = 32  # runtime-API connections at once (HAProxy's default: 10)


@dataclass(frozen=True)
class HAProxyConfig:
    run_dir: Path
    listen_host: str
    listen_port: int
    backend: str
    slots: Sequence[tuple[str, int]]
    health_path: str | None = "/health"
    metrics_port: int | None = None
    # Each request logged into a ring buffer of HAProxy's own, which a runner analysing a
    # release reads through the runtime API (`show events requests -w -n`; router/ring.py).
    log_ring: bool = False
    connect_timeout_s: float = 2.0
    server_timeout_s: float = 30.0
    client_timeout_s: float = 30.0
    check_interval_s: float = 1.0
    addresses: Mapping[str, str] = field(default_factory=dict)  # slot → host; 127.0.0.1 if absent
    admin_address: tuple[str, int] | None = None  # an admin socket on TCP too (a fleet's LB)
    #: where the admin socket is, when not in run_dir (slipway.sockets: a short path)
    socket_dir: Path | None = None
    #: (match, name) of each header or cookie route a canary may set (router/header_routes.py)
    routes: Sequence[tuple[str, str]] = ()
    #: a maintenance page the frontend answers while switched on (router/maintenance.py)
    maintenance: MaintenancePage | None = None

    @property
    def admin_socket(self) -> Path:
        run = self.run_dir if self.run_dir.is_absolute() else self.run_dir.resolve()
        return (self.socket_dir or run) / SOCKET

    def binds(self) -> list[tuple[str, int]]:
        """The TCP addresses HAProxy listens on with this config."""
        found = [(self.listen_host, self.listen_port)]
        if self.metrics_port is not None:
            found.append(("127.0.0.1", self.metrics_port))
        if self.admin_address is not None:
            found.append(self.admin_address)
        return found

    def render(self) -> str:
        """haproxy.cfg. Paths are quoted; names and addresses must be plain words; a value
        that would add a line (a newline, a carriage return) is refused, never written."""
        for word in (self.backend, *(slot for slot, _ in self.slots), *self.addresses.values()):
            _plain(word)
        lines = [
            "# written by Slipway: edits are overwritten",
            *self._global(),
            *self._defaults(),
            *self._frontend(),
            *self._backend(),
            *self._metrics(),
        ]
        for line in lines:
            if _CONTROL.search(line):
                raise PermanentError(f"haproxy.cfg would get a control character: {line!r}")
        return "\n".join(lines) + "\n"

    def _global(self) -> list[str]:
        run = self.run_dir if self.run_dir.is_absolute() else self.run_dir.resolve()
        lines = [
            "global",
            # room beside Slipway's own runtime-API connections for an operator's or a
            # monitoring tool's (HAProxy's default is 10 at once, then it stops answering)
            f"    stats maxconn {STATS_MAXCONN}",
            # The socket hands the listening sockets to the next worker at a reload, which
            # with `noreuseport` could not bind them beside the old one.
            f"    stats socket {_path(self.admin_socket, address=True)} "
            "mode 600 level admin expose-fd listeners",
            f"    server-state-file {_path(run / STATE_FILE)}",
        ]
        if self.admin_address:
            lines.append(
                f"    stats socket {_family(self.admin_address[0])}@"
                f"{_bind(*self.admin_address)} level admin"
            )
        lines += [
            "    maxconn 4096",
            # Without it, a second HAProxy (another environment, another checkout) binding the
            # same port would succeed, and the kernel would split users' requests between two
            # unrelated releases.
            "    noreuseport",
        ]
        if self.log_ring:
            lines += [
                f"    log ring@{LOG_RING} len 1024 format raw local0 info",
                "",
                f"ring {LOG_RING}",
                "    format raw",
                "    maxlen 1024",
                f"    size {LOG_RING_BYTES}",
            ]
        return lines

    def _defaults(self) -> list[str]:
        logging = (
            ["    log global", f'    log-format "{LOG_FORMAT}"']
            if self.log_ring
            else ["    option httplog"]
        )
        return [
            "",
            "defaults",
            "    mode http",
            *logging,
            f"    timeout connect {int(self.connect_timeout_s * 1000)}ms",
            f"    timeout client {int(self.client_timeout_s * 1000)}ms",
            f"    timeout server {int(self.server_timeout_s * 1000)}ms",
            "    timeout http-keep-alive 10s",
            "    timeout queue 10s",
            "    retries 3",
            "    option redispatch 1",
            "    retry-on conn-failure empty-response junk-response",
            "    load-server-state-from-file global",
            # At a reload the old worker would close its idle keep-alive connections at once,
            # racing a client sending its next request on one ("server disconnected without
            # a response"): it answers that request instead, with `Connection: close`.
            "    option idle-close-on-response",
        ]

    def _frontend(self) -> list[str]:
        return [
            "",
            f"frontend {self.backend}_in",
            f"    bind {_bind(_plain(self.listen_host), self.listen_port)}",
            *([self.maintenance.rule(_path)] if self.maintenance else []),
            f"    default_backend {self.backend}",
        ]

    def _backend(self) -> list[str]:
        lines = ["", f"backend {self.backend}", "    balance roundrobin"]
        if self.log_ring:  # the feature-flag variant the app reports, for the request log
            lines.append(f"    http-response set-var(txn.flag_variant) res.hdr({FLAG_HEADER})")
        run = self.run_dir if self.run_dir.is_absolute() else self.run_dir.resolve()
        lines += config_lines(run, self.routes, [slot for slot, _ in self.slots])
        check = ""
        if self.health_path:
            inter = max(100, int(self.check_interval_s * 1000))
            lines += [
                f"    option httpchk GET {_plain(self.health_path)}",
                "    http-check expect status 200",
                f"    default-server inter {inter}ms fall 2 rise 1",
            ]
            check = " check"
        for slot, port in self.slots:
            address = self.addresses.get(slot, "127.0.0.1")
            lines.append(f"    server {slot} {address}:{port}{check} disabled")
        return lines

    def _metrics(self) -> list[str]:
        if self.metrics_port is None:
            return []
        return [
            "",
            "frontend slipway_metrics",
            f"    bind 127.0.0.1:{self.metrics_port}",
            "    http-request use-service prometheus-exporter if { path /metrics }",
            "    http-request return status 404",
        ]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_PLAIN = re.compile(r"[A-Za-z0-9_./:?=&%~-]+")


def _plain(word: str) -> str:
    """A name, an address or a URL path, written as it is: only tame characters."""
    if not _PLAIN.fullmatch(word):
        raise PermanentError(f"{word!r} cannot be written into haproxy.cfg as one word")
    return word


def _path(path: Path, *, address: bool = False) -> str:
    """A path in single quotes, where HAProxy expands nothing; a ``'`` as in a shell.

    An ``address`` (a unix socket to bind or to log to) is read again by HAProxy's address
    parser, which expands ``$NAME`` whatever the quotes: a path with a ``$`` is refused there.
    """
    text = str(path)
    if _CONTROL.search(text) or (address and "$" in text):
        raise PermanentError(
            f"the path {text!r} has a control character{' or a $' if address else ''}: HAProxy "
            "cannot use it; use a state_dir (and a checkout) without one"
        )
    return "'" + text.replace("'", "'\\''") + "'"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _family(host: str) -> str:
    return "ipv6" if ":" in host else "ipv4"


def haproxy_errors(output: str) -> str:
    """What ``haproxy -c`` said, less its version notices: the lines that say what is wrong."""
    lines = [ln for ln in output.strip().splitlines() if "[NOTICE]" not in ln]
    return "\n".join(lines)[-1500:] or output.strip()[-1500:]
