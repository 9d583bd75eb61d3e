"""Opening one SSH connection: the key checked against ``known_hosts``, the ciphers that cost
least, keepalives, and what went wrong said plainly (a closed port is not a key problem)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncssh

from slipway.errors import HostFailed

if TYPE_CHECKING:
    from slipway.ssh.pool import SshHost

# AES-GCM first: asyncssh builds chacha20-poly1305 from three cipher objects made anew for every
# packet, in Python; AES-GCM is one OpenSSL call per packet (AES-NI on both ends), half the CPU
# for a release upload. Both are OpenSSH's defaults and equally sound; the rest are the fallback.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)


async def connect(
    host: SshHost, *, trusted: Any, timeout_s: float, keepalive_s: float
) -> asyncssh.SSHClientConnection:
    """A connection to ``host``, its key checked against ``trusted`` (asyncssh raises
    ``HostKeyNotVerifiable`` for the caller to explain); ``HostFailed`` otherwise."""
    keys: Any = [str(host.key_file)] if host.key_file else ()
    try:
        return await asyncssh.connect(
            host.address,
            host.port,
            username=host.user,
            client_keys=keys,
            agent_path=None if host.key_file else (),
            known_hosts=trusted,
            encryption_algs=CIPHERS,
            config=None,
            connect_timeout=timeout_s,
            login_timeout=timeout_s,
            keepalive_interval=keepalive_s,
            keepalive_count_max=3,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise
    except asyncssh.PermissionDenied as exc:
        how = f"key {host.key_file}" if host.key_file else "the ssh agent's keys"
        raise HostFailed(
            host.name,
            f"{host.user}@{host.address} refused {how} ({exc.reason}): add the public key "
            f"to ~{host.user}/.ssh/authorized_keys there, or fix `user`/`key_file`",
        ) from None
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        reason = f"cannot connect to {host.address}:{host.port}: {describe(exc)}"
        raise HostFailed(host.name, reason, unreachable=True) from None


def describe(exc: BaseException) -> str:
    """What went wrong with a connection, in words (not an errno tuple)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
