"""``reader: ansible``: the inventory read through ansible-inventory agrees with the built-in reader.

ansible-inventory comes from ``bench/.venv-peers`` (``make peers``), put first
on PATH with an empty configuration. The dynamic paths are tried with what
needs no cloud: an executable script printing Ansible's JSON, and the
``constructed`` plugin over a static file.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec
from slipway.spec.inventory import load_inventory
from slipway.spec.inventory_ansible import from_listing, read_with_ansible
from tests.spec import ansible_oracle as oracle
from tests.spec.test_inventory_oracle import CORPUS, SOURCES, order_is_defined, plain


@pytest.fixture
def ansible_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    oracle.ansible_bin("ansible-inventory")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    monkeypatch.setenv("PATH", f"{oracle.PEERS_BIN}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ANSIBLE_CONFIG", str(tmp_path / "ansible.cfg"))
    monkeypatch.setenv("ANSIBLE_LOCAL_TEMP", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("source", SOURCES)
def test_both_readers_agree(source: str) -> None:
    """What ``reader: ansible`` makes of each corpus listing is what the built-in reader reads.

    The listing is the oracle's (one ansible-inventory run per source for the whole
    suite); the scripts below run ``read_with_ansible`` itself, subprocess and all.
    """
    builtin = load_inventory(CORPUS / source)
    through = from_listing(copy.deepcopy(oracle.inventory_list(CORPUS / source)))
    assert set(through.hosts) == set(builtin.hosts)  # --list does not say in which order
    for host in builtin.hosts:
        assert plain(through.variables(host)) == plain(builtin.variables(host)), host
        assert set(through.host_groups(host)) == set(builtin.host_groups(host)), host
    for group in builtin.groups:
        if builtin.members(group) or group in through.groups:
            members = through.members(group)
            if order_is_defined(builtin):
                assert members == builtin.members(group), group
            else:
                assert sorted(members) == sorted(builtin.members(group)), group


SPEC = """\
app: shop
release: {{build: "true"}}
process: {{command: [python3, server.py]}}
environments:
  prod:
    router: {{type: haproxy, listen: '127.0.0.1:80'}}
    instances: {{per_host: 1, base_port: 8000}}
    targets:
      - type: ssh
        inventory: {{path: {path}, reader: ansible{extra}}}
        select: {select}
        deploy_to: /srv/shop
"""


def spec(tmp_path: Path, path: str, *, select: str = "all", extra: str = "") -> Path:
    file = tmp_path / "slipway.yaml"
    file.write_text(SPEC.format(path=path, select=select, extra=extra))
    return file


@pytest.mark.usefixtures("ansible_on_path")
def test_the_reader_runs_ansible_inventory(tmp_path: Path) -> None:
    through = read_with_ansible(CORPUS / "dir-group-vars")
    builtin = load_inventory(CORPUS / "dir-group-vars")
    assert {h: plain(through.variables(h)) for h in through.hosts} == {
        h: plain(builtin.variables(h)) for h in builtin.hosts
    }


@pytest.mark.usefixtures("ansible_on_path")
def test_a_script_inventory(tmp_path: Path) -> None:
    script = tmp_path / "inventory.sh"
    script.write_text(
        "#!/bin/sh\n"
        "cat <<'EOF'\n"
        '{"web": {"hosts": ["web1", "web2"], "vars": {"http_port": 80}},\n'
        ' "db": {"hosts": ["db1"]},\n'
        ' "_meta": {"hostvars": {"web1": {"ansible_host": "192.0.2.11", "ansible_user": "deploy"},\n'
        '                        "db1": {"ansible_ssh_port": 2201}}}}\n'
        "EOF\n"
    )
    script.chmod(0o755)
    with pytest.raises(SpecError, match="dynamic inventory script"):
        load_inventory(script)
    fleet = load_spec(spec(tmp_path, "inventory.sh", select="web")).environment("prod").fleet
    assert fleet is not None and fleet.app_hosts == ["web1", "web2"]
    web1, db1 = fleet.hosts["web1"], fleet.hosts["db1"]
    assert (web1.address, web1.user, web1.vars) == ("192.0.2.11", "deploy", {"http_port": 80})
    assert (db1.address, db1.port, db1.groups) == ("db1", 2201, ["db"])


@pytest.mark.usefixtures("ansible_on_path")
def test_the_constructed_plugin(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "01-hosts.ini").write_text(
        "[web]\nweb1 octet=11 memory_mb=8192 region=eu\nweb2 octet=12 memory_mb=2048 region=us\n"
    )
    (inventory / "02-constructed.yml").write_text(
        "plugin: ansible.builtin.constructed\nstrict: true\n"
        "compose:\n  ansible_host: \"'192.0.2.' ~ octet\"\n"
        "groups:\n  big: memory_mb | int > 4000\n"
        "keyed_groups:\n  - key: region\n    prefix: region\n"
    )
    env = load_spec(spec(tmp_path, "inventory", select="big:region_eu")).environment("prod")
    assert env.fleet is not None and env.fleet.app_hosts == ["web1"]
    assert env.fleet.hosts["web1"].address == "192.0.2.11"
    assert env.fleet.hosts["web2"].groups == ["region_us", "web"]


@pytest.mark.usefixtures("ansible_on_path")
def test_vaulted_group_vars_with_a_password_file(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
    (tmp_path / "vault-pass").write_text("correct horse\n")
    secret = tmp_path / "group_vars" / "web.yml"
    secret.write_text("ansible_user: deploy\ndb_password: s3cret\n")
    subprocess.run(
        [
            str(oracle.ansible_bin("ansible-vault")),
            "encrypt",
            str(secret),
            "--vault-password-file",
            str(tmp_path / "vault-pass"),
        ],
        check=True,
        capture_output=True,
    )
    assert secret.read_text().startswith("$ANSIBLE_VAULT")
    extra = ", vault_password_file: vault-pass"
    fleet = load_spec(spec(tmp_path, "hosts.ini", extra=extra)).environment("prod").fleet
    assert fleet is not None and fleet.hosts["web1"].user == "deploy"
    assert fleet.hosts["web1"].vars["db_password"] == "s3cret"
    with pytest.raises(SpecError, match="could not read"):
        load_spec(spec(tmp_path, "hosts.ini")).environment("prod")


def test_without_ansible_inventory_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    (tmp_path / "hosts.ini").write_text("[web]\nweb1\n")
    with pytest.raises(SpecError) as caught:
        load_spec(spec(tmp_path, "hosts.ini")).environment("prod")
    assert "needs ansible-inventory on PATH" in caught.value.message
    assert caught.value.location is not None and caught.value.location.line == 10
