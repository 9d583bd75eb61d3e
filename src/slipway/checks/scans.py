"""Security scans of the seeds ("bandit and safety: no CRITICAL/HIGH"), as checks.

- ``BanditCheck`` runs bandit for real (``-f json``) over the project and fails on any issue
  at or above a severity and a confidence; the evidence lists the worst of them (test id,
  file and line — the code itself is not copied).
- ``AuditCheck`` audits the packages installed in the project's Python against advisories
  kept *here*: a local advisory file, or the JSON report a pip-audit run recorded. Nothing is
  asked of a vulnerability service: the runner may have no way out, and a pre-flight must
  not depend on one. An advisory file is ``{"advisories": [{"id", "package", "affected"
  (a version specifier, e.g. "<5.2.8"), "severity" (low … critical), "summary"}]}``; a
  pip-audit report has no severities, so each of its vulnerabilities counts.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from slipway.checks.base import CheckResult

LEVELS = {"low": 1, "medium": 2, "high": 3, "critical": 4}
SHOWN = 5
INSTALLED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def _run(argv: Sequence[str], *, cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


class BanditCheck:
    def __init__(
        self, program: Sequence[str], *, paths: Sequence[str], exclude: Sequence[str],
        severity: str, confidence: str, cwd: Path, timeout_s: float, name: str,
    ) -> None:  # fmt: skip
        self.argv = [*program, "-r", *paths, "-f", "json", "-q"]
        if exclude:  # bandit matches what it walks ("./.venv/lib/…") against globs
            self.argv += ["-x", ",".join(f"./{e},./{e}/*,*/{e}/*" for e in exclude)]
        self.severity, self.confidence = severity, confidence
        self.cwd, self.timeout_s, self.name = cwd, timeout_s, name

    def probe(self) -> CheckResult:
        started = time.monotonic()
        try:
            done = _run(self.argv, cwd=self.cwd, timeout_s=self.timeout_s)
            report = json.loads(done.stdout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckResult("inconclusive", f"bandit did not run: {exc}")
        except ValueError:  # exit 2 or 1 with no JSON: bandit itself failed
            tail = done.stderr.strip()[-300:]
            return CheckResult("inconclusive", f"bandit failed (exit {done.returncode}): {tail}")
        took = time.monotonic() - started
        found = [
            issue
            for issue in report.get("results", [])
            if LEVELS.get(str(issue.get("issue_severity", "")).lower(), 0) >= LEVELS[self.severity]
            and LEVELS.get(str(issue.get("issue_confidence", "")).lower(), 0)
            >= LEVELS[self.confidence]
        ]
        scanned = report.get("metrics", {}).get("_totals", {}).get("loc", "?")
        if not found:
            return CheckResult(
                "pass", f"bandit: no {self.severity.upper()}+ issue in {scanned} lines", took
            )
        shown = "; ".join(
            f"{i.get('issue_severity')} {i.get('test_id')} {i.get('test_name')} at "
            f"{_relative(i.get('filename', '?'), self.cwd)}:{i.get('line_number')}"
            for i in found[:SHOWN]
        )
        more = f" (+{len(found) - SHOWN} more)" if len(found) > SHOWN else ""
        return CheckResult("fail", f"bandit: {len(found)} issue(s): {shown}{more}", took)


def _relative(path: str, cwd: Path) -> str:
    try:
        return str((cwd / path).resolve().relative_to(cwd.resolve()))
    except ValueError:
        return path


class AuditCheck:
    def __init__(
        self, *, python: Path, advisories: Path | None, report: Path | None, severity: str,
        ignore: Sequence[str], cwd: Path, timeout_s: float, name: str,
    ) -> None:  # fmt: skip
        self.python, self.advisories, self.report = python, advisories, report
        self.severity, self.ignore = severity, set(ignore)
        self.cwd, self.timeout_s, self.name = cwd, timeout_s, name

    def probe(self) -> CheckResult:
        try:
            if self.report is not None:
                found, audited = _from_report(json.loads(self.report.read_text()))
            else:
                assert self.advisories is not None
                found, audited = self._from_advisories()
        except (OSError, ValueError, KeyError, TypeError, subprocess.TimeoutExpired) as exc:
            return CheckResult("inconclusive", f"the audit could not be read or run: {exc}")
        found = [f for f in found if f[0] not in self.ignore]
        if not found:
            return CheckResult(
                "pass", f"{audited} packages audited: no {self.severity.upper()}+ advisory"
            )
        shown = "; ".join(f"{i} {pkg} {v} ({sev})" for i, pkg, v, sev in found[:SHOWN])
        return CheckResult("fail", f"{len(found)} known vulnerabilit(ies): {shown}")

    def _from_advisories(self) -> tuple[list[tuple[str, str, str, str]], int]:
        assert self.advisories is not None
        entries = json.loads(self.advisories.read_text())["advisories"]
        done = _run([str(self.python), "-c", INSTALLED], cwd=self.cwd, timeout_s=self.timeout_s)
        if done.returncode != 0:
            raise ValueError(f"{self.python} could not list its packages: {done.stderr[-200:]}")
        installed = {str(canonicalize_name(k)): str(v) for k, v in json.loads(done.stdout).items()}
        found = []
        for entry in entries:
            package = str(canonicalize_name(str(entry["package"])))
            severity = str(entry.get("severity", "critical")).lower()
            if package not in installed or LEVELS.get(severity, 4) < LEVELS[self.severity]:
                continue
            if _affected(installed[package], str(entry["affected"])):
                found.append((str(entry["id"]), package, installed[package], severity))
        return found, len(installed)


def _affected(version: str, specifier: str) -> bool:
    try:
        return Version(version) in SpecifierSet(specifier)
    except (InvalidVersion, InvalidSpecifier) as exc:
        raise ValueError(f"{version!r} against {specifier!r}: {exc}") from exc


def _from_report(report: Any) -> tuple[list[tuple[str, str, str, str]], int]:
    deps = report["dependencies"] if isinstance(report, dict) else report
    found = [
        (str(v["id"]), str(d["name"]), str(d.get("version", "?")), "unrated")
        for d in deps
        for v in d.get("vulns", [])
    ]
    return found, len(deps)
