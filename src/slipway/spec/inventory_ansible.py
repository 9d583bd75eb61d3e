"""An inventory read through ``ansible-inventory --list``: dynamic plugins and vaults for free.

With ``inventory: {path: …, reader: ansible}`` Slipway asks Ansible itself:
``ansible-inventory -i PATH --list`` (with ``--vault-password-file`` when the
spec names one) gives every group's hosts and children and every host's
variables, already merged with Ansible's precedence — so inventory plugins
(``constructed``, ``aws_ec2``, scripts …) and vaulted variables work as they do
for the team's playbooks. The built-in reader stays the default; both build
the same ``Inventory``, and the tests check that they agree on every
inventory of the corpus.

``ansible-inventory`` only reads: it runs the team's own plugins, which may
call their cloud's API, but never connects to a host. Host and group names it
returns are checked like the built-in reader's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from slipway.errors import Location, SpecError
from slipway.spec.inventory import Inventory, InventoryError

TIMEOUT_S = 300
PROGRAM = "ansible-inventory"


def read_with_ansible(
    path: Path, *, vault_password_file: Path | None = None, where: Location | None = None
) -> Inventory:
    """The inventory at ``path`` as ``ansible-inventory --list`` reads it."""
    program = shutil.which(PROGRAM)
    if program is None:
        raise SpecError(
            f"reader: ansible needs {PROGRAM} on PATH",
            location=where,
            hint="install ansible-core (pip install ansible-core), or use reader: builtin",
        )
    command = [program, "-i", str(path), "--list"]
    if vault_password_file is not None:
        command += ["--vault-password-file", str(vault_password_file)]
    # a source no plugin could parse is an error here (Ansible would only warn and go on empty)
    env = {
        **os.environ,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
        "ANSIBLE_NOCOLOR": "1",
    }
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SpecError(f"{PROGRAM} could not read {path}: {exc}", location=where) from None
    if done.returncode != 0:
        last = [line for line in done.stderr.splitlines() if line.strip()][-6:]
        raise SpecError(
            f"{PROGRAM} could not read {path}:\n    " + "\n    ".join(last),
            location=where,
            hint=f"run `{PROGRAM} -i {path} --list` to see the whole error",
        )
    try:
        listing = json.loads(done.stdout)
    except ValueError as exc:
        raise SpecError(f"{PROGRAM} printed no JSON: {exc}", location=where) from None
    try:
        return from_listing(listing)
    except (InventoryError, TypeError, AttributeError) as exc:
        raise SpecError(
            f"{PROGRAM} -i {path}: {exc}",
            location=where,
            hint="host names are letters, digits, '.', '_' and '-'",
        ) from None


def from_listing(listing: dict[str, Any]) -> Inventory:
    """An ``Inventory`` from Ansible's ``--list`` JSON (host variables already merged)."""
    inventory = Inventory()
    hostvars: dict[str, dict[str, Any]] = listing.get("_meta", {}).get("hostvars", {})
    bodies = {name: body for name, body in listing.items() if name != "_meta"}
    for name in bodies:
        inventory.add_group(name)
    for name, body in bodies.items():
        for host in body.get("hosts", []):
            inventory.add_host(host, name)
    for name, body in bodies.items():
        for child in body.get("children", []):
            inventory.add_group(child)
            inventory.add_child(name, child)
    for host, variables in hostvars.items():
        inventory.add_host(host)
        inventory.hosts[host].vars = _untagged(dict(variables))
    inventory.reconcile()
    # the JSON's keys are sorted: put groups and hosts back in the order Ansible walks them
    order = ["all"]
    for name in order:
        order += [c for c in inventory.groups[name].children if c not in order]
    inventory.groups = {g: inventory.groups[g] for g in [*order, *inventory.groups]}
    hosts = [*inventory.members("all"), *inventory.hosts]
    inventory.hosts = {h: inventory.hosts[h] for h in dict.fromkeys(hosts)}
    return inventory


def _untagged(value: Any) -> Any:
    """Values as Ansible meant them: its JSON wraps templated strings as ``__ansible_unsafe``."""
    if isinstance(value, dict):
        if list(value) == ["__ansible_unsafe"]:
            return _untagged(value["__ansible_unsafe"])
        return {k: _untagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untagged(v) for v in value]
    return value
