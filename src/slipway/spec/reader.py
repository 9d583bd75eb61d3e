"""The YAML text of a spec, read so that no file can crash or exhaust the reader.

``read_document`` returns ruamel's round-trip document (every value with its line and
column) or raises a ``SpecError`` at ``file:line:column`` with a hint, for everything a
file can hold: a byte that is not UTF-8, a character YAML refuses (NUL, other control
characters), a value ruamel cannot build (``2026-02-30``), an alias bomb, a cyclic alias,
absurd nesting, and the odd comment that ruamel's round-trip reader cannot place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from ruamel.yaml.reader import ReaderError

from slipway.errors import Location, SpecError

MAX_DEPTH = 50  # nesting levels
MAX_NODES = 100_000  # values in the document once aliases are expanded


def read_document(file: Path) -> Any:
    """The round-trip document of ``file``; a ``SpecError`` for any problem with it."""
    if "\0" in str(file):  # no file system allows it; os.stat would raise ValueError
        raise SpecError(
            "a file name cannot contain a NUL character",
            location=None,
            hint="pass the path of a slipway.yaml with -f PATH",
        )
    try:
        exists = file.exists()
    except OSError as exc:  # a name too long, a component that is not a directory …
        raise SpecError(
            f"cannot read {file}: {exc.strerror or exc}",
            location=None,
            hint="pass the path of a slipway.yaml with -f PATH",
        ) from None
    if not exists:
        raise SpecError(
            f"{file} does not exist",
            location=None,
            hint="run `slipway init` to write one, or pass -f PATH",
        )
    text = _read(file)
    return _parse(file, text)


def _parse(file: Path, text: str) -> Any:
    """The round-trip document (values with their lines and columns), or a located SpecError."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        _check_structure(yaml, text, file)
        return yaml.load(text)
    except (ReaderError, MarkedYAMLError) as exc:
        raise _yaml_error(file, text, exc) from None
    except SpecError:
        raise
    except Exception as exc:  # ruamel's round-trip reader has bugs of its own (comments)
        raise _reader_failed(file, text, exc) from None


def _yaml_error(file: Path, text: str, exc: ReaderError | MarkedYAMLError) -> SpecError:
    if isinstance(exc, ReaderError):  # a character YAML refuses (NUL, other control characters)
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        return SpecError(
            f"YAML cannot contain the character U+{code:04X} ({exc.reason})",
            location=_location_at(file, text, exc.position),
            hint="remove it; YAML allows tabs, newlines and printable characters only",
        )
    mark = exc.problem_mark or exc.context_mark
    where = Location(str(file), mark.line + 1, mark.column + 1) if mark else None
    problem = exc.problem or exc.context or "invalid YAML"
    context = exc.context_mark
    if exc.context and context and mark and context.line != mark.line:
        problem += f" ({exc.context} at line {context.line + 1}, column {context.column + 1})"
    hint = "each key may appear only once in a mapping" if "duplicate" in problem else None
    if "cannot read this value" in problem:
        hint = "quote it to make it a string, or write a valid value of its type"
    return SpecError(
        f"YAML syntax error: {problem}",
        location=where or Location(str(file), 1, 1),
        hint=hint or "check the indentation and quoting around this place",
    )


def _reader_failed(file: Path, text: str, exc: Exception) -> SpecError:
    """ruamel's round-trip reader raised something that is not a YAML error (it can fail to
    attach a comment, ``NotImplementedError: overlap in comment``). The plain reader, which
    ignores comments, tells whether the YAML itself is wrong, and where; if it is not, the
    error points at the place the round-trip reader names."""
    try:
        YAML(typ="safe", pure=True).load(text)
    except (ReaderError, MarkedYAMLError) as plain:
        return _yaml_error(file, text, plain)
    except Exception:
        pass  # the round-trip reader's error is the one to report
    found = re.search(r"line: (\d+), col: (\d+)", str(exc))
    line, column = (int(found[1]) + 1, int(found[2]) + 1) if found else (1, 1)
    return SpecError(
        f"the YAML reader cannot read this part (ruamel.yaml: "
        f"{str(exc).split('[')[0].strip()[:80] or type(exc).__name__})",
        location=Location(str(file), line, column),
        hint="move the comment here onto a line of its own, or check the indentation "
        "of the lines around it",
    )


def _read(file: Path) -> str:
    """The file's text; a byte that is not UTF-8 is reported at its line and column."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"cannot read {file}: {exc.strerror or exc}",
            location=None,
            hint="pass the path of a slipway.yaml with -f PATH",
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            f"byte {data[exc.start]:#04x} is not UTF-8",
            location=Location(str(file), line, column),
            hint="save the file as UTF-8",
        ) from None


def _location_at(file: Path, text: str, position: int) -> Location:
    line = text.count("\n", 0, position) + 1
    return Location(str(file), line, position - (text.rfind("\n", 0, position) + 1) + 1)


class _Constructor(RoundTripConstructor):
    """ruamel's round-trip constructor, whose errors all carry a place in the file.

    Some of its constructors raise plain ``ValueError``/``KeyError`` for a value they
    cannot build (``2026-02-30``, ``!!int x``, ``!!bool maybe``): those become a
    ``ConstructorError`` at the value's mark, which ``load_spec`` reports like any other.
    """

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            raise ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from None


def _check_structure(yaml: YAML, text: str, file: Path) -> None:
    """Refuse, before anything is built, a document that nests deeper than ``MAX_DEPTH`` or
    that aliases (``*name``) would expand past ``MAX_NODES`` values — 1.5 KB of nested
    aliases is a billion values — or an alias inside its own anchor (a cycle).

    Counted from the parser's events, so the cost is the size of the text, not of what it
    would expand to.
    """
    sizes: dict[str, int] = {}  # anchor → values it stands for
    stack: list[list[Any]] = [[None, 0]]  # [anchor, values so far] of each open collection
    expanded = 0

    def refuse(message: str, event: Any, hint: str) -> SpecError:
        mark = event.start_mark
        return SpecError(
            message, location=Location(str(file), mark.line + 1, mark.column + 1), hint=hint
        )

    for event in yaml.parse(text):
        if isinstance(event, ScalarEvent | AliasEvent):
            if isinstance(event, ScalarEvent):
                count = 1
            elif any(entry[0] == event.anchor for entry in stack):
                raise refuse(
                    f"alias *{event.anchor} is inside its own anchor: it would never end",
                    event,
                    "an alias may only refer to an anchor that is complete",
                )
            else:
                count = sizes.get(event.anchor, 1)
            if isinstance(event, ScalarEvent) and event.anchor:
                sizes[event.anchor] = 1
            stack[-1][1] += count
            expanded += count
        elif isinstance(event, CollectionStartEvent):
            stack.append([event.anchor, 1])
            expanded += 1
            if len(stack) > MAX_DEPTH:
                raise refuse(
                    f"the document nests more than {MAX_DEPTH} levels deep",
                    event,
                    "a slipway.yaml needs a few levels; flatten this part",
                )
        elif isinstance(event, CollectionEndEvent):
            anchor, count = stack.pop()
            stack[-1][1] += count
            if anchor:
                sizes[anchor] = count
        if expanded > MAX_NODES:
            raise refuse(
                f"aliases expand this file to more than {MAX_NODES} values",
                event,
                "use fewer aliases (*name) to lists and mappings; "
                "environments already inherit the top-level sections",
            )
