"""Bad input gives one clear message with file:line:column, the field and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from slipway.errors import SpecError
from slipway.spec import load_spec

GOOD = """\
version: 1
app: shop
release:
  path: releases/{version}
process:
  command: [python3, server.py]
health:
  check: {type: http, path: /health}
strategy:
  type: rolling
  max_surge: 1
environments:
  production:
    router:
      type: haproxy
      listen: 127.0.0.1:8080
    instances:
      count: 3
      base_port: 9101
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    (tmp_path / "releases").mkdir()
    return tmp_path


def write(spec_dir: Path, text: str) -> Path:
    path = spec_dir / "slipway.yaml"
    path.write_text(text)
    return path


def test_good_spec_loads_with_defaults(spec_dir: Path) -> None:
    loaded = load_spec(write(spec_dir, GOOD))
    env = loaded.environment(None)
    assert env.name == "production"
    assert env.health.healthy_threshold == 2
    assert [s[2] for s in env.slots()] == [9101, 9102, 9103, 9104, 9105, 9106]


@pytest.mark.parametrize(
    ("old", "new", "where", "field", "words"),
    [
        ("app: shop", "app: [shop", (3, 8), None, "flow sequence at line 2, column 6"),
        (
            "  count: 3",
            "  count: 3\n      cuont: 4",
            (19, 7),
            "instances.cuont",
            "did you mean 'count'",
        ),
        ("  count: 3", "  count: three", (18, 14), "instances.count", "whole number"),
        ("base_port: 9101", "base_port: 70000", (19, 18), "base_port", "65535"),
        ("app: shop", "app: Shop;rm", (2, 6), "app", "lowercase"),
        ("  count: 3", "  names: [web, api, web]", (18, 14), "names", "appears twice"),
        ("release:\n  path", "release:\n  pth", (4, 3), "release.pth", "did you mean 'path'"),
        (
            "path: releases/{version}",
            "path: missing/{version}",
            (4, 9),
            "release.path",
            "does not exist",
        ),
        ("type: rolling", "type: canary-ish", (10, 3), "strategy", "allowed: 'rolling'"),
        (
            "listen: 127.0.0.1:8080",
            "listen: 127.0.0.1:9102",
            (14, 5),
            "production",
            "instance ports",
        ),
        ("app: shop", "app: shop\napp: again", (3, 1), None, "each key may appear only once"),
        (
            "  command: [python3, server.py]",
            "  command: []",
            (6, 12),
            "process.command",
            "at least 1",
        ),
        ("app: shop", "app: sh\x00op", (2, 8), None, "character U+0000"),
        ("app: shop", "app: shop\x07", (2, 10), None, "character U+0007"),
        ("app: shop", "app: shop\nwhen: 2026-02-30", (3, 7), None, "cannot read this value"),
        ("app: shop", "app: !!int shop", (2, 6), None, "quote it to make it a string"),
        (
            "path: releases/{version}",
            'build: ./build.sh "{version} {output}',
            (4, 10),
            "release.build",
            "No closing quotation",
        ),
        ("app: shop", "app: shop\nx: &a [1, *a]", (3, 11), None, "inside its own anchor"),
        ("app: shop", "app: shop\nx: " + "[" * 60 + "]" * 60, (3, 52), None, "50 levels deep"),
    ],
)
def test_bad_input_is_located(
    spec_dir: Path, old: str, new: str, where: tuple[int, int], field: str | None, words: str
) -> None:
    assert old in GOOD
    path = write(spec_dir, GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    error = info.value
    assert error.exit_code == 2
    assert error.location is not None
    assert (error.location.line, error.location.column) == where, str(error)
    if field:
        assert field in (error.field or ""), str(error)
    assert words in str(error)
    assert str(error).startswith(f"{path}:{where[0]}:{where[1]}:")


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="slipway init"):
        load_spec(tmp_path / "nope.yaml")


def test_unknown_environment_lists_known_ones(spec_dir: Path) -> None:
    loaded = load_spec(write(spec_dir, GOOD))
    with pytest.raises(Exception, match="known environments: production"):
        loaded.environment("staging")


def bomb(levels: int = 7, width: int = 10) -> str:
    """The billion laughs: each level a list of ``width`` aliases to the level before."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands(spec_dir: Path) -> None:
    text = GOOD + bomb()
    assert len(bomb()) < 1600  # the 1.5 KB that grew to 1.34 GB
    with pytest.raises(SpecError) as info:
        load_spec(write(spec_dir, text))
    assert "aliases expand this file to more than 100000 values" in str(info.value)
    assert info.value.location is not None and info.value.location.line > 20
    assert "fewer aliases" in (info.value.hint or "")


def test_aliases_within_the_budget_still_work(spec_dir: Path) -> None:
    text = GOOD.replace(
        "process:\n  command: [python3, server.py]",
        "process:\n  command: &cmd [python3, server.py]",
    )
    text += "    process: {command: *cmd}\n"
    env = load_spec(write(spec_dir, text)).environment(None)
    assert env.process.command == ["python3", "server.py"]


def test_a_byte_that_is_not_utf8_is_located(spec_dir: Path) -> None:
    path = spec_dir / "slipway.yaml"
    path.write_bytes(GOOD.replace("app: shop", "app: sh\xffop").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value).startswith(f"{path}:2:8: byte 0xff is not UTF-8")
    assert info.value.hint == "save the file as UTF-8"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # a newline in admin once added `lua-load evil.lua` to haproxy.cfg's global section
        (
            "      listen: 127.0.0.1:8080",
            '      listen: 127.0.0.1:8080\n      admin: "127.0.0.1\\n    lua-load /tmp/x.lua\\n#:9999"',
            "not an IP",
        ),
        (
            "      listen: 127.0.0.1:8080",
            "      listen: 127.0.0.1:8080\n      admin: h1:9999",
            "not an IP",
        ),
        (
            "      listen: 127.0.0.1:8080",
            "      listen: localhost:8080\n      admin: localhost:9",
            "not an IP",
        ),
        ("listen: 127.0.0.1:8080", 'listen: "[fe80::1%eth0]:8080"', "scoped address"),
        ("listen: 127.0.0.1:8080", 'listen: "127.0.0.1:8080\\n"', "listen must look like"),
        ("listen: 127.0.0.1:8080", 'listen: "127.0.0.1\\n:8080"', "not an IP"),
        # an API without authentication on the network: only when the spec says so
        (
            "      listen: 127.0.0.1:8080",
            "      listen: 127.0.0.1:8080\n      admin: 192.0.2.10:9999",
            "expose_admin: true",
        ),
        ("app: shop", 'app: shop\nstate_dir: "state\\nfiles = /tmp/evil/*.conf"', "control"),
        ("app: shop", "app: shop\nstate_dir: my state", "blank"),
        (
            "  path: releases/{version}",
            '  build: "make \'release {output}"',
            "No closing quotation",
        ),
        ("  command: [python3, server.py]", '  command: [python3, "a\\0b"]', "NUL"),
    ],
)
def test_values_that_would_reach_generated_configs_badly_are_refused(
    spec_dir: Path, old: str, new: str, words: str
) -> None:
    assert old in GOOD
    path = write(spec_dir, GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.location is not None, str(info.value)
    assert words in str(info.value)


def test_admin_beyond_loopback_is_allowed_when_the_spec_says_so(spec_dir: Path) -> None:
    text = GOOD.replace(
        "      listen: 127.0.0.1:8080",
        "      listen: 0.0.0.0:8080\n      admin: 192.0.2.10:9999\n      expose_admin: true",
    )
    env = load_spec(write(spec_dir, text)).environment(None)
    assert env.router.exposed() == [
        "0.0.0.0:8080: the app, through HAProxy",
        "192.0.2.10:9999: HAProxy's admin API, without authentication",
    ]
    loopback = load_spec(write(spec_dir, GOOD)).environment(None)
    assert loopback.router.exposed() == []


def test_an_argument_with_a_newline_is_a_valid_command(spec_dir: Path) -> None:
    text = GOOD.replace(
        "  command: [python3, server.py]", '  command: [sh, -c, "echo a\\nexec python3 server.py"]'
    )
    env = load_spec(write(spec_dir, text)).environment(None)
    assert env.process.command == ["sh", "-c", "echo a\nexec python3 server.py"]
