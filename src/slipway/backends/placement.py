"""The live placement: what each slot runs, read from the target and the router themselves.

Strategies and rollbacks are planned from this, never from what the store
believes, so a plan is right even after a crash left the store behind.
"""

from __future__ import annotations

from slipway.backends import Backends
from slipway.steps import Placement, ProcessPlacement


def read_placement(backends: Backends) -> list[Placement]:
    servers = {s.slot: s for s in backends.router.servers()}
    placement = []
    for inst in backends.target.instances():
        server = servers.get(inst.slot)
        takes_traffic = server is not None and server.admin == "ready"
        placement.append(
            Placement(
                slot=inst.slot,
                version=inst.version,
                running=inst.running,
                serving=inst.running and takes_traffic,
            )
        )
    return placement


def read_processes(backends: Backends) -> list[ProcessPlacement]:
    """What each process of the roles without traffic runs, read from the target."""
    if backends.roles is None:
        return []
    return [
        ProcessPlacement(name=p.name, role=p.role, version=p.version, running=p.running)
        for p in backends.roles.processes()
    ]
