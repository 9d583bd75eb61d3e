"""Properties of host selection: any `--limit` pattern and any inventory file, read through
the public loader, give a fleet or a usage error with a hint — never another exception."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from slipway.errors import SpecError, UsageError
from slipway.spec import load_spec
from tests.budget import bounded

SPEC = """\
app: shop
release: {build: "true"}
process: {command: [python3, server.py]}
environments:
  prod:
    router: {type: haproxy, host: lb1, listen: "198.18.0.9:80"}
    instances: {per_host: 1, base_port: 8000}
    targets:
      - type: ssh
        inventory: hosts.ini
        select: web
        deploy_to: /srv/shop
        known_hosts: known_hosts
        hosts:
          web04: {address: 198.18.0.14, groups: [web, eu]}
"""
INVENTORY = (
    "[web]\nweb01 ansible_host=198.18.0.11 ansible_user=deploy\nweb02 ansible_host=198.18.0.12\n"
    "web03 ansible_host=198.18.0.13 ansible_port=2222\n[lb]\nlb1 ansible_host=198.18.0.9\n"
    "[eu:children]\nweb\n"
)
NAMES = ["web01", "web02", "web03", "web04", "lb1", "web", "lb", "eu", "all", "*", "nope"]
term = (
    st.sampled_from(NAMES)
    | st.builds("{}{}".format, st.sampled_from(["&", "!", "~", ""]), st.sampled_from(NAMES))
    | st.text(st.sampled_from("web0*?[]!^&~:,.+(){}\\|$ 1-9"), max_size=8)
)
patterns = st.lists(term, max_size=5).flatmap(
    lambda terms: st.lists(
        st.sampled_from([",", ":"]), min_size=len(terms), max_size=len(terms)
    ).map(lambda seps: "".join(f"{t}{s}" for t, s in zip(terms, seps, strict=True)))
) | st.text(max_size=20)


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("fleet")
    (directory / "hosts.ini").write_text(INVENTORY)
    path = directory / "slipway.yaml"
    path.write_text(SPEC)
    yield path


@bounded(200)
@given(pattern=patterns)
@example(pattern="web:&eu:!web02")
@example(pattern="~(")
@example(pattern="&")
@example(pattern="~a{99999999999}")
def test_any_limit_selects_hosts_or_is_refused_with_a_hint(spec_file: Path, pattern: str) -> None:
    loaded = load_spec(spec_file)
    try:
        env = loaded.environment("prod", limit=pattern)
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)
        return
    assert env.fleet is not None
    assert env.fleet.app_hosts and set(env.fleet.app_hosts) <= {"web01", "web02", "web03", "web04"}


def test_a_limit_keeps_ansible_meaning(spec_file: Path) -> None:
    env = load_spec(spec_file).environment("prod", limit="web:&eu:!web02")
    assert env.fleet is not None and env.fleet.app_hosts == ["web01", "web03", "web04"]


ini_lines = st.lists(
    st.sampled_from(
        [
            "[web]", "[web:vars]", "[web:children]", "[eu:children]", "[]", "[:vars]", "web01",
            "web01 ansible_host=198.18.0.11", "web02 ansible_port=x", "web03 ansible_user=deploy",
            'ansible_user="deploy"', "ansible_user='x y'", "a=b=c", "=x", "web[01:03]",
            "web[a:c]", "web[1:]", "# comment", "; comment", "  ", "web01 ansible_host",
            "lb1 ansible_host=198.18.0.9", "web\x00", "[web", "weird host", "ünïcode",
        ]
    )
    | st.text(max_size=30),
    max_size=8,
)  # fmt: skip


@bounded(150)
@given(lines=ini_lines)
@example(lines=["[web]", "web01", "[web:vars]", 'ansible_user="deploy"'])
def test_any_ini_inventory_loads_or_is_refused_with_a_hint(
    spec_file: Path, lines: list[str]
) -> None:
    inventory = spec_file.parent / "hosts.ini"
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        loaded = load_spec(spec_file)
        loaded.environment("prod")
    except SpecError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)
    finally:
        inventory.write_text(INVENTORY)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.sampled_from(NAMES)
    | st.text(max_size=8)
)
yaml_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from([*NAMES, "hosts", "children", "vars", "ansible_host"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@bounded(150)
@given(
    tree=st.fixed_dictionaries(
        {"all": st.dictionaries(st.sampled_from(["hosts", "children", "vars"]), yaml_values)}
    )
)
@example(tree={"all": {"hosts": ["web01"]}})
@example(tree={"all": {"hosts": True}})
@example(tree={"all": {"children": True}})
@example(tree={"all": {"vars": "web01"}})
@example(tree={"all": {"vars": 1}})
def test_any_yaml_inventory_loads_or_is_refused_with_a_hint(
    spec_file: Path, tree: dict[str, object]
) -> None:
    inventory = spec_file.parent / "hosts.yml"
    inventory.write_text(json.dumps(tree))  # JSON is YAML
    spec = spec_file.parent / "yaml-inventory.yaml"
    spec.write_text(spec_file.read_text().replace("hosts.ini", "hosts.yml"))
    try:
        load_spec(spec).environment("prod")
    except SpecError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)
