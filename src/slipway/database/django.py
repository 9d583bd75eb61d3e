"""Django's migrations through ``manage.py``: the plan, the state per app, the SQL, reversal.

Everything runs the release's own ``manage.py`` with its own Python (``database.migrate.
django``), against a database given as a ``Dsn`` (production's, or a rehearsal's scratch
copy), its URL in the spec's ``url_env`` as the settings read it and the password nowhere
else (``postgres.run``).

Destructive operations are found in the SQL Django would run (``sqlmigrate``), not guessed
from operation names, so a ``RunSQL`` that drops a column is caught too: ``DROP TABLE``,
``DROP COLUMN``, a column made ``NOT NULL`` (or added so) without a default, and renames of
tables or columns — each breaks the release still serving during a rolling deploy, which is
why they belong in the contract step of an expand-contract pair, after the expand step
shipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from slipway.database.dsn import Dsn
from slipway.database.postgres import Run, run
from slipway.errors import UsageError
from slipway.spec.database import DatabaseSpec, DjangoMigrations

TIMEOUT_S = 120.0
_DESTRUCTIVE = [
    (re.compile(r"\bDROP\s+TABLE\b", re.I), "DROP TABLE"),
    (re.compile(r"\bDROP\s+COLUMN\b", re.I), "DROP COLUMN"),
    (re.compile(r"\bRENAME\s+(COLUMN\s+)?\S+\s+TO\b", re.I), "RENAME"),
    (re.compile(r"\bRENAME\s+TO\b", re.I), "RENAME"),
    (re.compile(r"\bSET\s+NOT\s+NULL\b", re.I), "NOT NULL without a default"),
]
_ADD_NOT_NULL = re.compile(r"\bADD\s+COLUMN\b[^;]*\bNOT\s+NULL\b", re.I)


@dataclass(frozen=True)
class Manage:
    """``manage.py`` of one release, against one database."""

    spec: DjangoMigrations
    release: Path
    dsn: Dsn
    url_env: str
    timeout_s: float = TIMEOUT_S

    def __call__(self, *args: str, timeout_s: float | None = None) -> Run:
        argv = [str(self.release / self.spec.python), self.spec.manage, *args]
        return run(
            argv,
            dsn=self.dsn,
            timeout_s=timeout_s or self.timeout_s,
            cwd=self.release,
            extra_env={self.url_env: self.dsn.url()},
        )


class DjangoError(Exception):
    """``manage.py`` failed; the message is its scrubbed output's tail."""


def _ok(result: Run, what: str) -> str:
    if not result.ok:
        raise DjangoError(f"{what} exited {result.code}: {result.output[-600:]}")
    return result.output


def applied(manage: Manage) -> dict[str, list[str]]:
    """app → its migrations, applied ones only, in order (``showmigrations --list``)."""
    return {app: [n for n, done in names if done] for app, names in _listing(manage).items()}


def unapplied(manage: Manage) -> list[tuple[str, str]]:
    """(app, migration) not applied yet, in the order ``showmigrations`` lists them."""
    return [(app, n) for app, names in _listing(manage).items() for n, done in names if not done]


def _listing(manage: Manage) -> dict[str, list[tuple[str, bool]]]:
    text = _ok(manage("showmigrations", "--list", "--no-color"), "showmigrations")
    result: dict[str, list[tuple[str, bool]]] = {}
    app = None
    for line in text.splitlines():
        entry = re.match(r"^\s+\[( |X)\]\s+(\S+)", line)
        if entry and app is not None:
            result[app].append((entry.group(2), entry.group(1) == "X"))
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", line.strip()) and not line.startswith(" "):
            app = line.strip()
            result[app] = []
    return result


def plan(manage: Manage) -> dict[str, list[str]]:
    """What ``migrate`` would run, per app: ``app.migration`` and each operation, as Django's
    ``migrate --plan`` says it (read-only)."""
    text = _ok(manage("migrate", "--plan", "--no-color"), "migrate --plan")
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        head = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\.(\S+)$", line)
        if head:
            current = result.setdefault(head.group(1), [])
            current.append(head.group(2))
        elif current is not None and line.strip() and line.startswith("    "):
            current.append("    " + line.strip())
    return result


_TABLE = re.compile(
    r'^\s*(?:CREATE|ALTER)\s+TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"?([\w.]+)"?', re.I
)


def destructive(manage: Manage, migrations: list[tuple[str, str]]) -> list[str]:
    """What each of ``migrations`` would do that breaks the release still serving. A table
    created by an earlier migration of the same list is new: nothing serving uses it yet."""
    found: list[str] = []
    created: set[str] = set()
    for app, name in migrations:
        sql = _ok(manage("sqlmigrate", app, name, "--no-color"), f"sqlmigrate {app} {name}")
        for statement in _statements(sql):
            table = _TABLE.match(statement)
            if table and statement.upper().lstrip().startswith("CREATE"):
                created.add(table.group(1))
                continue
            if table and table.group(1) in created:
                continue
            found += [f"{app}.{name}: {w}" for w in _destructive_words(statement)]
    return sorted(set(found), key=found.index)


def _statements(sql: str) -> list[str]:
    """The SQL's statements, without Django's ``--`` comment lines (and BEGIN/COMMIT)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _destructive_words(statement: str) -> list[str]:
    words = [label for pattern, label in _DESTRUCTIVE if pattern.search(statement)]
    if _ADD_NOT_NULL.search(statement) and not re.search(r"\bDEFAULT\b", statement, re.I):
        words.append("NOT NULL without a default")
    return words


@dataclass(frozen=True)
class Reversal:
    """How to put each app back where it was: ``migrate <app> <target>`` (``zero``: none)."""

    targets: dict[str, str] = field(default_factory=dict)
    irreversible: list[str] = field(default_factory=list)

    @property
    def possible(self) -> bool:
        return bool(self.targets) and not self.irreversible


def reversal(
    manage: Manage, before: Mapping[str, list[str]], after: Mapping[str, list[str]]
) -> Reversal:
    """The targets that undo what went from ``before`` to ``after``, and which migrations
    cannot be reversed (``sqlmigrate --backwards`` refuses them: a ``RunPython`` without
    ``reverse_code``, an irreversible ``RunSQL``)."""
    targets: dict[str, str] = {}
    irreversible: list[str] = []
    for app, names in after.items():
        was = list(before.get(app, []))
        new = [n for n in names if n not in was]
        if not new:
            continue
        targets[app] = was[-1] if was else "zero"
        for name in reversed(new):
            backwards = manage("sqlmigrate", app, name, "--backwards", "--no-color")
            if not backwards.ok:
                irreversible.append(f"{app}.{name}")
    return Reversal(targets, irreversible)


def planned(
    database: DatabaseSpec | None, *, directory: Path, environ: Mapping[str, str] | None = None
) -> dict[str, object] | None:
    """What ``slipway plan`` shows of the migration: ``migrate --plan`` per app, run with the
    code in ``directory`` against the environment's database (read-only); None when the spec
    has no Django migrations; ``{"error": …}`` when it cannot be known now."""
    if database is None or database.migrate is None or database.migrate.django is None:
        return None
    try:
        dsn = Dsn.from_env(database.url_env, environ)
    except UsageError as exc:
        return {"error": exc.message}
    manage = Manage(database.migrate.django, directory, dsn, database.url_env)
    try:
        return {"apps": plan(manage), "from": str(directory)}
    except DjangoError as exc:
        return {"error": str(exc)}
