"""Host key checking: what to say when a host's key is not the one ``known_hosts`` trusts.

asyncssh refuses an untrusted key with ``HostKeyNotVerifiable`` and no key
in hand. To name the fingerprint in the error (so a person can compare it
with the host's own ``ssh-keygen -lf``), the key is fetched again without
trusting it, only to print it; nothing is ever sent over that connection.
Checking itself is never turned off: there is no setting for that.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import asyncssh

from slipway.errors import HostFailed, HostKeyError

FETCH_TIMEOUT_S = 5.0


def known_hosts_pattern(address: str, port: int) -> str:
    return address if port == 22 else f"[{address}]:{port}"


def has_entry(known_hosts: Path, address: str, port: int) -> bool:
    """Whether ``known_hosts`` trusts some key (maybe another one) for this address."""
    try:
        trusted = asyncssh.read_known_hosts(str(known_hosts)).match(address, address, port)
    except (OSError, ValueError, asyncssh.Error):
        return False
    return bool(trusted[0] or trusted[1])


async def presented_key(address: str, port: int) -> tuple[asyncssh.SSHKey | None, str | None]:
    """The key the host presents, or why none could be had (refused, timed out, not SSH)."""
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(address, port, config=None), FETCH_TIMEOUT_S
        )
    except TimeoutError:
        return None, f"no answer within {FETCH_TIMEOUT_S:g}s"
    except ConnectionRefusedError:
        return None, "connection refused (nothing listens on that port)"
    except (OSError, asyncssh.Error) as exc:
        return None, str(exc) or type(exc).__name__
    if key is None:
        return None, "it presented no host key"
    return key, None


async def host_key_error(
    name: str, address: str, port: int, known_hosts: Path
) -> HostKeyError | HostFailed:
    """The error for a host whose key is not trusted: which host, which key, how to fix it —
    or, when the host presents none at all, that it does not answer (a closed port is not a
    key problem, and saying "presented a key" of it sends people the wrong way)."""
    key, failure = await presented_key(address, port)
    if key is None:
        missing = "" if known_hosts.is_file() else f"; and {known_hosts} does not exist"
        return HostFailed(
            name,
            f"cannot connect to {address}:{port} to check its host key: {failure}{missing}",
            unreachable=True,
        )
    fingerprint = str(key.get_fingerprint())
    shown = f"{key.get_algorithm()} key {fingerprint}"
    where = f"host {name} ({address}:{port})"
    file = shlex.quote(str(known_hosts))
    scan = f"ssh-keyscan -p {port} {shlex.quote(address)} >> {file}"
    if has_entry(known_hosts, address, port):
        return HostKeyError(
            f"{where} presented {shown}, which is NOT the key {known_hosts} has for it: "
            "the host was reinstalled, or someone is in the middle. Nothing was started.\n"
            "  fix: check the fingerprint on the host (`ssh-keygen -lf "
            "/etc/ssh/ssh_host_ed25519_key.pub`); if it matches, replace the old entry: "
            f"`ssh-keygen -R {shlex.quote(known_hosts_pattern(address, port))} -f {file}` "
            f"then `{scan}`",
            host=name,
            fingerprint=fingerprint,
        )
    missing = "" if known_hosts.is_file() else " (the file does not exist)"
    return HostKeyError(
        f"{where} presented {shown}, which {known_hosts}{missing} does not know: "
        "host keys are always checked. Nothing was started.\n"
        "  fix: check the fingerprint on the host (`ssh-keygen -lf "
        f"/etc/ssh/ssh_host_ed25519_key.pub`); if it matches, add it: `{scan}` "
        "(or set `known_hosts:` in the spec to a file that has it)",
        host=name,
        fingerprint=fingerprint,
    )
