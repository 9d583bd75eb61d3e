"""The lower bound: bare asyncssh, one connection per host, the upload streamed into tar."""

from __future__ import annotations

import asyncio
import sys

import asyncssh
from common import health, load, restart, switch


async def one(c: dict, address: str) -> None:
    d, v = c["deploy_to"], c["version"]
    async with asyncssh.connect(
        address,
        username="root",
        client_keys=[c["key_file"]],
        known_hosts=c["known_hosts"],
        config=None,
        agent_path=None,
    ) as conn:
        await conn.run(
            f"mkdir -p {d}/releases/{v} && tar -xf - -C {d}/releases/{v}",
            stdin=c["tarball"],
            encoding=None,
            bufsize=256 * 1024,  # as Slipway does: the 8 KiB default is 3x slower
            check=True,
        )
        await conn.run(f"{switch(c)} && {restart(c)} && {health(c, address)}", check=True)


async def main() -> None:
    c = load()
    await asyncio.gather(*(one(c, a) for a in c["hosts"]))


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
