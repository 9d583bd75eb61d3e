"""Coverage check: the total in a coverage report is at least a threshold.

Reads what the test run left: coverage.py's JSON (``coverage json``: ``totals.percent_covered``)
or Cobertura XML (``coverage xml``, most CI tools: the root's ``line-rate``). An unreadable or
missing report is a failure, not a pass: no evidence of coverage is not coverage.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from slipway.checks.base import CheckResult


class CoverageCheck:
    def __init__(
        self, report: Path, *, min_percent: float, max_age_s: float | None, name: str
    ) -> None:
        self.report = report
        self.min_percent = min_percent
        self.max_age_s = max_age_s
        self.name = name

    def probe(self) -> CheckResult:
        try:
            percent = self._percent()
        except (OSError, ValueError, KeyError, ET.ParseError) as exc:
            return CheckResult("fail", f"cannot read {self.report.name}: {exc}")
        if self.max_age_s is not None:
            age = time.time() - self.report.stat().st_mtime
            if age > self.max_age_s:
                return CheckResult("fail", f"{self.report.name} is {age / 3600:.1f}h old")
        if percent >= self.min_percent:
            return CheckResult("pass", f"coverage {percent:.1f}% >= {self.min_percent:g}%")
        return CheckResult("fail", f"coverage {percent:.1f}% < {self.min_percent:g}%")

    def _percent(self) -> float:
        text = self.report.read_text()
        if self.report.suffix == ".xml" or text.lstrip().startswith("<"):
            root = ET.fromstring(text)
            return float(root.attrib["line-rate"]) * 100
        return float(json.loads(text)["totals"]["percent_covered"])
