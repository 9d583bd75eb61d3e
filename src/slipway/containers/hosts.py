"""The Docker engines of a fleet's hosts, each reached through the host's pooled SSH connection.

Each host's engine is an ``Engine`` whose socket is a local one carried to the host's
``/var/run/docker.sock`` (``ssh/forward.py``): the same client, the same labels and the same
error rules as for this machine's engine, no docker CLI and no open port on the host.

The docker SDK is synchronous, so work on several hosts runs in threads, at most the pool's
``max_parallel`` at once (``each``). What fails because the *host* cannot be reached — its
SSH connection lost, refused, timed out — is that host's ``HostFailed``, for the engine's
host-failure policy; the host's dockerd not answering while SSH does is the engine's usual
``BackendError`` (retried, as for a dockerd restarting here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from slipway.containers.engine import Engine
from slipway.errors import BackendError, HostFailed
from slipway.ssh.forward import UnixForwards
from slipway.ssh.pool import SshPool

T = TypeVar("T")
PROBE_S = 5.0  # how long a host that did not answer its engine's call gets to answer SSH


class HostEngines:
    def __init__(self, pool: SshPool, *, socket: str) -> None:
        self.pool = pool
        self.socket = socket  # the engine's socket on every host
        self.forwards = UnixForwards(pool)
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._workers: ThreadPoolExecutor | None = None

    def engine(self, host: str) -> Engine:
        """The host's engine (its forwarded socket opened on first use)."""
        with self._lock:
            if host not in self._engines:
                if self.pool.is_down(host):
                    raise self._failed(host)
                local = self.forwards.local_path(host, self.socket)
                # a call the host does not answer fails after the fleet's command timeout
                timeout = max(1, round(self.pool.command_timeout_s))
                self._engines[host] = Engine(
                    f"unix://{local}",
                    remote=True,
                    timeout_s=timeout,
                    label=f"{host}:{self.socket} (over SSH)",
                )
            return self._engines[host]

    def on(self, host: str, work: Callable[[Engine], T]) -> T:
        """``work(engine)`` for ``host``. When the engine did not answer, the host is asked
        over SSH at once: a host that does not answer is its ``HostFailed`` (unreachable);
        else it is the engine there, and the error says so with the host's name."""
        try:
            return work(self.engine(host))
        except BackendError as exc:
            unreachable = self._unreachable(host)
            if unreachable is not None:
                raise HostFailed(host, unreachable, unreachable=True) from None
            failure = self.forwards.failure(host)
            if failure is None:
                raise
            silent = BackendError(
                f"{host}: Docker's socket {self.socket} there: {failure}",
                hint="is dockerd running on that host (and `docker.socket` its socket)?",
            )
            silent.delay_s = exc.delay_s
            raise silent from None

    def _unreachable(self, host: str) -> str | None:
        """Why ``host`` does not answer over SSH now (marked down by the pool), or None."""
        if not self.pool.is_down(host):
            try:
                self.pool.run(host, "true", timeout_s=min(PROBE_S, self.pool.command_timeout_s))
            except HostFailed as exc:
                if not exc.unreachable:
                    return None
                self.pool.mark_down(host, exc.detail)
                return exc.detail
            return None
        return self.forwards.failure(host) or "its SSH connection is down"

    def _failed(self, host: str) -> HostFailed:
        return HostFailed(host, self._unreachable(host) or "unreachable", unreachable=True)

    def each(self, hosts: Iterable[str], work: Callable[[str], T]) -> dict[str, T | BaseException]:
        """``work(host)`` for every host, in threads (at most ``max_parallel`` at once);
        each host's result or error."""
        order = list(hosts)
        if not order:
            return {}
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(
                    max_workers=self.pool.max_parallel, thread_name_prefix="slipway-docker"
                )
            workers = self._workers
        futures = {host: workers.submit(work, host) for host in order}
        results: dict[str, T | BaseException] = {}
        for host, future in futures.items():
            error = future.exception()
            results[host] = error if error is not None else future.result()
        return results

    def close(self) -> None:
        """Close the engines' clients and the forwarded sockets (before the pool closes)."""
        with self._lock:
            engines, self._engines = list(self._engines.values()), {}
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True)
        for engine in engines:
            engine.close()
        self.forwards.close()
