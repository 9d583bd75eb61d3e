"""Fabric: a Connection per host, in as many threads as hosts; host keys checked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import paramiko
from common import health, load, restart, switch, unpack, upload_path
from fabric import Connection


def one(c: dict, address: str) -> None:
    conn = Connection(address, user="root", connect_kwargs={"key_filename": c["key_file"]})
    conn.client.load_host_keys(c["known_hosts"])
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with conn:
        conn.put(c["tarball"], upload_path(c))
        conn.run(unpack(c), hide=True)
        conn.run(switch(c), hide=True)
        conn.run(restart(c), hide=True)
        conn.run(health(c, address), hide=True)


def main() -> None:
    c = load()
    with ThreadPoolExecutor(max_workers=len(c["hosts"])) as pool:
        for future in [pool.submit(one, c, a) for a in c["hosts"]]:
            future.result()


if __name__ == "__main__":
    main()
