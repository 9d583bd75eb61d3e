"""The lease's token on every fleet host: a stale runner refuses to act on a host that a newer
one has worked on.

The store fences a runner's *writes* (``store/leases.py``); a host cannot ask the store. So
each host keeps the newest token that worked on it in ``<deploy_to>/lease-token``, beside
``current``. Before its first command to a host in each group of steps, a runner holding the
lease runs one small script there: if the host's token is newer than its own, it stops
(``LeaseLost``) without touching the host; otherwise it records its own. A runner that was
paused, lost the store entirely and comes back still cannot undo what its successor did.

This is a check-then-act, not an atomic test in the host's own writes (supervisord and
HAProxy know nothing of tokens): a runner that passed the check a moment before its
successor recorded a newer token can still finish that one group's commands. The README's
*Leases and fencing* says what that leaves open.
"""

from __future__ import annotations

import asyncio
import shlex
import threading

import asyncssh

from slipway.errors import HostFailed, LeaseLost
from slipway.ssh.connect import describe


def _script(path: str, token: int) -> str:
    f, d = shlex.quote(path), shlex.quote(path.rsplit("/", 1)[0] or "/")
    return (
        f"t=$(cat {f} 2>/dev/null || true); case \"$t\" in ''|*[!0-9]*) t=0;; esac; "
        f'if [ "$t" -gt {token} ]; then echo "fenced $t"; else '
        f'if [ "$t" -ne {token} ]; then mkdir -p {d} && echo {token} > {f}.$$ && mv -f {f}.$$ {f}; '
        "fi && echo ok; fi"
    )


class HostFence:
    """The token this runner holds, checked against (and recorded on) each host it talks to."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.token: int | None = None
        self._epoch = 0
        self._checked: dict[str, int] = {}
        self._lock = threading.Lock()

    def arm(self, token: int) -> None:
        """Check every host again (before its next command) against ``token``."""
        with self._lock:
            self.token = token
            self._epoch += 1

    def disarm(self) -> None:
        with self._lock:
            self.token = None

    def recorded(self, host: str) -> bool:
        return self._checked.get(host) == self._epoch

    async def check(
        self, host: str, conn: asyncssh.SSHClientConnection, *, timeout_s: float
    ) -> None:
        """Before a host's first command of this lease: its recorded token, compared and
        written in one shell command, given as long as any command on that host (the
        target's ``command_timeout_s``: a fleet's busiest hosts answer late, not never)."""
        with self._lock:
            token, epoch = self.token, self._epoch
        if token is None or self._checked.get(host) == epoch:
            return
        try:
            done = await asyncio.wait_for(
                conn.run(_script(self.path, token), check=False), timeout_s
            )
        except TimeoutError:
            raise HostFailed(
                host, f"no answer to the lease-token check within {timeout_s:g}s", unreachable=True
            ) from None
        except (OSError, asyncssh.Error) as exc:
            raise HostFailed(
                host, f"lease-token check: {describe(exc)}", unreachable=True
            ) from None
        said = str(done.stdout or "").strip()
        if said.startswith("fenced"):
            newer = said.split()[-1]
            raise LeaseLost(
                f"host {host} records lease token {newer} ({self.path}), newer than this "
                f"runner's {token}: another runner has worked on it since; this one stops "
                "without touching it",
                hint="the runner holding the lease now (or `slipway resume`) finishes",
            )
        if done.exit_status != 0 or said != "ok":
            detail = str(done.stderr or said).strip()[-200:]
            raise HostFailed(host, f"cannot record the lease token in {self.path}: {detail}")
        with self._lock:
            if self._epoch == epoch:
                self._checked[host] = epoch
