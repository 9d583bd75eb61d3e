"""The placement: what each slot runs — read live from the target and the router themselves,
or, for a plan that touches nothing at all, as the store's records say.

Deployments and rollbacks are planned from the live placement, never from what the store
believes, so a plan is right even after a crash left the store behind.
"""

from __future__ import annotations

from slipway.backends import Backends
from slipway.spec.environment import Environment
from slipway.steps import Placement, ProcessPlacement
from slipway.store import Store


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


def recorded_placement(store: Store, env: Environment) -> list[Placement]:
    """What the store's records say each slot runs: every step that succeeded, replayed in
    the order it ran across the environment's deployments. ``slipway plan --offline`` plans
    from this without asking the target or the router (a fleet: without opening SSH); it is
    the store's belief — right unless something changed outside Slipway since."""
    running: dict[str, str] = {}
    serving: set[str] = set()
    deployments = reversed(store.deployments(env.app, env.name, limit=10_000))
    for dep in deployments:
        for step in store.steps(dep.id):
            if step.state not in ("succeeded", "compensated"):
                continue
            slot = str(step.params.get("slot", ""))
            if step.kind == "start_instance":
                running[slot] = step.params["version"]
            elif step.kind == "enable_instance":
                serving.add(slot)
            elif step.kind == "switch_traffic":
                serving |= set(step.params["ready"])
                serving -= set(step.params["drain"])
            elif step.kind in ("drain_instance", "standby_instance"):
                serving.discard(slot)
            elif step.kind == "stop_instance":
                running.pop(slot, None)
                serving.discard(slot)
    return [
        Placement(slot=slot, version=version, running=True, serving=slot in serving)
        for slot, version in sorted(running.items())
    ]
