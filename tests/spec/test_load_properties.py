"""Property: whatever is done to the `slipway init` spec, loading it succeeds or says where.

Random mutations of the template — bytes inserted, replaced or deleted, keys renamed,
values replaced by hostile YAML, lines re-indented — and the only allowed outcomes of
``load_spec`` followed by ``environment()`` for each environment are a valid environment,
or a ``SpecError`` (exit 2) with ``file:line:column`` and a hint, or a ``UsageError`` with
a hint. Never another exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from slipway.errors import SpecError, UsageError
from slipway.spec import load_spec
from slipway.spec.template import render
from tests.budget import bounded

TEMPLATE = render("shop", year=2026)
LINES = TEMPLATE.splitlines(keepends=True)
KEY = re.compile(r"^(\s*(?:- )?\{?)([A-Za-z_][A-Za-z0-9_]*)(:)")
VALUE = re.compile(r"^(\s*(?:- )?[A-Za-z_][A-Za-z0-9_]*: )([^#\n]+?)(\s*(?:#.*)?)$")
HOSTILE = [
    "\x00", "\x07", "\x1b[31m", "\ufeff", "\u2028", "\t", "&a", "*a", "*nope", "!!int x",
    "!!bool maybe", "!!float x", "!!binary x", "!!python/object:os.system x", "!!set {x}",
    "2026-02-30", "[", "]", "{", "}", "? x", "- x", "|", ">", "%YAML 1.1", "---", "...",
    "@x", "`x`", "<<: *a", "'", '"', "~", "null", ".inf", "0o99", "1e999", "-0", "9" * 40,
    "[/red]", "{version}", "../../etc", "$(id)", "é", "🚀", "a" * 300,
]  # fmt: skip


@pytest.fixture(scope="module")
def spec_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("mutated")
    (directory / "releases").mkdir()
    yield directory


def assert_loads_or_locates(path: Path) -> None:
    try:
        loaded = load_spec(path)
        for name in loaded.spec.environments:
            loaded.environment(name)
    except SpecError as exc:
        assert exc.exit_code == 2
        assert exc.location is not None, str(exc)
        assert str(exc).startswith(f"{path}:{exc.location.line}:{exc.location.column}:")
        assert exc.location.line >= 1 and exc.location.column >= 1
        assert exc.hint, str(exc)
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.hint, str(exc)


def write(spec_dir: Path, data: bytes) -> Path:
    path = spec_dir / "slipway.yaml"
    path.write_bytes(data)
    return path


hostile = st.sampled_from(HOSTILE) | st.text(max_size=12)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(TEMPLATE.encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["insert", "replace", "delete"]))
        byte = draw(st.integers(0, 255) | st.sampled_from(list(b"\x00\t\n\r :-[]{}&*!#'\"|>")))
        if kind == "insert":
            data.insert(at, byte)
        elif kind == "replace":
            data[at] = byte
        else:
            del data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


@st.composite
def line_mutations(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        kind = draw(st.sampled_from(["key", "value", "indent", "duplicate", "text"]))
        if kind == "key" and (m := KEY.match(line)):
            lines[i] = line[: m.start(2)] + draw(hostile) + line[m.end(2) :]
        elif kind == "value" and (m := VALUE.match(line.rstrip("\n"))):
            lines[i] = m.group(1) + draw(hostile) + m.group(3) + "\n"
        elif kind == "indent":
            change = draw(st.sampled_from([" ", "  ", "\t", "-"]))
            lines[i] = change + line if draw(st.booleans()) else line.lstrip(" ")
        elif kind == "duplicate":
            lines.insert(i, line)
        else:
            lines.insert(i, draw(hostile) + "\n")
    return "".join(lines).encode("utf-8", errors="surrogatepass")


@bounded(60)
@given(data=byte_mutations())
@example(data=TEMPLATE.replace("app: shop", "app: sh\x00op").encode())
def test_byte_mutations_load_or_are_located(spec_dir: Path, data: bytes) -> None:
    assert_loads_or_locates(write(spec_dir, data))


@bounded(60)
@given(data=line_mutations())
@example(data=TEMPLATE.replace("keep: 5", "keep: !!int five").encode())
@example(data=TEMPLATE.replace("\n  - {type: command", "\n|\n  - {type: command", 1).encode())
@example(data=TEMPLATE.replace("  keep: 5", "  keep: 5\n  build: './b.sh").encode())
def test_key_value_and_indentation_mutations_load_or_are_located(
    spec_dir: Path, data: bytes
) -> None:
    assert_loads_or_locates(write(spec_dir, data))


def test_the_template_itself_loads(spec_dir: Path) -> None:
    loaded = load_spec(write(spec_dir, TEMPLATE.encode()))
    assert list(loaded.spec.environments) == ["staging", "production"]
