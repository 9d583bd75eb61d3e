"""Ansible: writes inventory, ansible.cfg and a playbook, then becomes ansible-playbook."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from common import health, load, restart, switch, unpack, upload_path

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {{src: "{tarball}", dest: "{dest}"}}
    - shell: "{unpack}"
    - shell: "{switch}"
    - command: "{restart}"
    - shell: "{health}"
"""


def main() -> None:
    c = load()
    work = Path(c["work"]) / f"ansible-{c['version']}"
    work.mkdir(exist_ok=True)
    (work / "inventory").write_text(
        "".join(
            f"{a} ansible_user=root ansible_ssh_private_key_file={c['key_file']} "
            "ansible_python_interpreter=/usr/bin/python3\n"
            for a in c["hosts"]
        )
    )
    (work / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {len(c['hosts'])}\nhost_key_checking = True\n"
        f"local_tmp = {work}/tmp\nstdout_callback = ansible.builtin.minimal\n"
        "[ssh_connection]\npipelining = True\n"
        f"ssh_args = -o ControlMaster=auto -o ControlPersist=60s "
        f"-o UserKnownHostsFile={c['known_hosts']} -o StrictHostKeyChecking=yes\n"
        f"control_path_dir = {work}/cp\n"
    )
    esc = lambda text: text.replace("\\", "\\\\").replace('"', '\\"')  # noqa: E731
    (work / "deploy.yml").write_text(
        PLAYBOOK.format(
            tarball=c["tarball"],
            dest=upload_path(c),
            unpack=esc(unpack(c)),
            switch=esc(switch(c)),
            restart=esc(restart(c)),
            health=esc(health(c, "{{ inventory_hostname }}")),
        )
    )
    os.environ["ANSIBLE_CONFIG"] = str(work / "ansible.cfg")
    binary = shutil.which("ansible-playbook") or "ansible-playbook"
    os.execv(binary, [binary, "-i", str(work / "inventory"), str(work / "deploy.yml")])


if __name__ == "__main__":
    main()
