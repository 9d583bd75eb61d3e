"""Keeping ``docs/runbooks/deployment.md`` current: rewritten after every deployment.

A runbook whose history stops at the day it was written is the stale runbook
the seeds warn about. Once a person has written the document for an
environment (``slipway runbook --env production``), every deployment of that
environment rewrites it when it ends, in the language it was written in. A
document of another environment or app at the same path is left alone.
"""

from __future__ import annotations

from pathlib import Path

from slipway.observe import NullObserver
from slipway.runbook.facts import Facts, gather
from slipway.runbook.render import render
from slipway.runbook.text import WORDS, Lang
from slipway.spec.environment import Environment
from slipway.store import Deployment, Store


def default_path(env: Environment) -> Path:
    return env.root / "docs" / "runbooks" / "deployment.md"


def written_for(path: Path, env: Environment) -> Lang | None:
    """The language of the runbook of ``env`` at ``path``; None if it is not one."""
    try:
        with path.open(encoding="utf-8") as f:
            first = f.readline().rstrip("\n")
    except (OSError, UnicodeDecodeError):
        return None
    for lang in ("en", "fr"):
        if first == f"# {WORDS['title'][lang]} — {env.app} / {env.name}":
            return lang
    return None


class DocumentRefresher(NullObserver):
    """Observer: when a deployment ends, re-render the environment's runbook if it has one."""

    def __init__(self, env: Environment, store: Store, path: Path | None = None) -> None:
        self._env = env
        self._store = store
        self._path = path or default_path(env)

    def finished(self, deployment: Deployment) -> None:
        lang = written_for(self._path, self._env)
        if lang is not None:
            self._path.write_text(render(gather(self._env, self._store), lang), encoding="utf-8")


def write_document(
    env: Environment, facts: Facts, lang: Lang, *, path: Path | None = None
) -> tuple[Path, list[str]]:
    """Write the runbook document of ``env`` (``slipway runbook``); its path and headings."""
    target = path or default_path(env)
    text = render(facts, lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, [line[3:] for line in text.splitlines() if line.startswith("## ")]
