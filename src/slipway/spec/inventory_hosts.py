"""Host entries of an Ansible inventory: ``name[:port]``, ranges, and the names Slipway accepts.

The grammar is ansible-core's (``parsing/utils/addresses.py`` and
``expand_hostname_range`` in ``plugins/inventory/__init__.py``), ported line
for line so that ``web1.example.com:2222``, ``[2001:db8::1]:22``,
``node[1:10:2]``, ``rack-[A:C]`` and ``db[01:03]`` mean exactly what they mean
to Ansible. What Ansible accepts beyond that (any string at all becomes a host
name when it is not an address) Slipway refuses with a hint: host names end up
in slot names, HAProxy server lines and remote commands, so they stay within
``[A-Za-z0-9_.-]``, at most 253 characters, never starting with ``-`` or ``.``.
"""

from __future__ import annotations

import re
import string

from slipway.errors import Location, SpecError

NUMERIC_RANGE = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]"
HEX_RANGE = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]"
ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_IPV6_PART = rf"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})"
_IPV4_PART = rf"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})"
_LABEL = rf"(?:[\w]|{ALNUM_RANGE})(?:[\w_-]|{ALNUM_RANGE})*(?<![_-])"
_V6 = _IPV6_PART
_BRACKETED_HOSTPORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOSTPORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_IPV4 = re.compile(rf"^(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}$", re.I)
_IPV6 = re.compile(
    rf"""^((?:{_V6}:){{7}}{_V6}|(?:{_V6}:){{1,6}}:|(?:{_V6}:)(?::{_V6}){{1,6}}|
    (?:{_V6}:){{2}}(?::{_V6}){{1,5}}|(?:{_V6}:){{3}}(?::{_V6}){{1,4}}|
    (?:{_V6}:){{4}}(?::{_V6}){{1,3}}|(?:{_V6}:){{5}}(?::{_V6}){{1,2}}|
    (?:{_V6}:){{6}}(?::{_V6})|:(?::{_V6}){{1,6}}|{_V6}?::|
    (?:0:){{6}}(?:{_V6}\.){{3}}{_V6}|::(?:ffff:)?(?:{_V6}\.){{3}}{_V6}|
    (?:0:){{5}}ffff:(?:{_V6}\.){{3}}{_V6})$""",
    re.X | re.I,
)
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.I)

HOST_NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,252}"
"""The host names Slipway accepts (a subset of Ansible's): safe in configs and commands."""
HOST_NAME_RE = re.compile(HOST_NAME)
HOST_NAME_HINT = (
    "host names are letters, digits, '.', '_' and '-' (at most 253, not starting with '-' or "
    "'.'); give the address with ansible_host when the name is not one"
)


def parse_address(address: str, *, allow_ranges: bool = False) -> tuple[str, int | None]:
    """``(host, port)`` of ``host``, ``host:port``, ``[v6]:port``; ValueError when it is none.

    Ansible's ``parse_address``: the port is taken off first, then what is left
    must be an IPv4 address, an IPv6 address or a host name (ranges allowed when
    ``allow_ranges``).
    """
    port: int | None = None
    for pattern in (_BRACKETED_HOSTPORT, _HOSTPORT):
        found = pattern.fullmatch(address)
        if found:
            address, port = found.group(1), int(found.group(2))
    if not any(p.fullmatch(address) for p in (_IPV4, _IPV6, _HOSTNAME)):
        raise ValueError(f"not a valid network hostname: {address}")
    if not allow_ranges and "[" in address:
        raise ValueError("detected a range in a host where none is allowed")
    return address, port


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """The host names and the port of one inventory entry (``web[01:03]:2222``).

    As in Ansible, an entry that is not an address keeps its whole text as the
    pattern (and no port); ranges expand either way. ValueError for a bad range.
    """
    try:
        host, port = parse_address(pattern, allow_ranges=True)
    except ValueError:
        host, port = pattern, None
    return (expand_range(host) if "[" in host else [host]), port


def expand_range(line: str) -> list[str]:
    """``db[01:10:3]node-[a:c]`` → every name; Ansible's ``expand_hostname_range``, exactly.

    Numeric bounds keep their zero padding (``[01:10]``: both bounds of one
    width), letter bounds run over ``a…zA…Z`` (so ``[A:C]`` and ``[x:B]`` both
    work), a third number is the step. ValueError when the range is malformed.
    """
    if "[" not in line:
        return [line]
    parts = line.replace("[", "|", 1).replace("]", "|", 1).split("|")
    if len(parts) != 3:
        raise ValueError(f"unbalanced brackets in host range {line!r}")
    head, body, tail = parts
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise ValueError("a host range is begin:end or begin:end:step")
    begin, end = bounds[0] or "0", bounds[1]
    step_text = bounds[2] if len(bounds) == 3 else "1"
    if not end:
        raise ValueError("a host range needs an end value")
    width = len(begin) if begin[0] == "0" and len(begin) > 1 else 0
    if width and width != len(end):
        raise ValueError("the bounds of a zero-padded host range need the same width")
    try:
        step = int(step_text)
    except ValueError:
        raise ValueError(f"invalid step {step_text!r} in host range") from None
    if step <= 0:
        raise ValueError("the step of a host range must be positive")
    items: list[str]
    low, high = string.ascii_letters.find(begin), string.ascii_letters.find(end)
    if low >= 0 and high >= 0:
        if low > high:
            raise ValueError("a host range needs begin <= end")
        items = list(string.ascii_letters[low : high + 1 : step])
    else:
        try:
            numbers = range(int(begin), int(end) + 1, step)
        except ValueError:
            raise ValueError(f"invalid host range [{body}]") from None
        if len(numbers) > 100_000:
            raise ValueError(f"host range [{body}] gives {len(numbers)} hosts (at most 100000)")
        items = [str(n).zfill(width) for n in numbers]
    names: list[str] = []
    for item in items:
        names.extend(expand_range(head + item + tail))
        if len(names) > 100_000:
            raise ValueError(f"host range {line!r} gives more than 100000 hosts")
    return names


def valid_host_name(name: str) -> bool:
    """Whether Slipway can use ``name`` in slot names, configs and commands."""
    return HOST_NAME_RE.fullmatch(name) is not None


def expand_host_pattern_at(pattern: str, where: Location) -> tuple[list[str], int | None]:
    """``expand_host_pattern`` for a file's host entry: a bad range is a ``SpecError`` there."""
    try:
        return expand_host_pattern(pattern)
    except ValueError as exc:
        raise SpecError(
            str(exc), location=where, hint="ranges look like web[01:10], node[1:9:2], rack-[a:c]"
        ) from None
