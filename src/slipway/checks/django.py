"""The seeds' Django settings rules, checked in the project's own Python: SECRET_KEY set and
long enough, DEBUG false, ALLOWED_HOSTS set.

Django reads its settings from the environment the runner has (as ``manage.py`` would on the
server), so the check runs ``manage.py shell -c`` with a few lines that print *facts* only —
whether the key is long enough, not the key nor its length; how many allowed hosts, not which
— and the evidence is made of those facts. Nothing of a value can reach the table, the store
or a CI log.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from slipway.checks.base import CheckResult

# printed as the last line, so warnings Django prints before it do not matter
FACTS = """\
import json
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
try:
    key = settings.SECRET_KEY or ""
except ImproperlyConfigured:  # Django refuses an empty one
    key = ""
hosts = [h for h in getattr(settings, "ALLOWED_HOSTS", []) if h]
print(json.dumps({"key_set": bool(key.strip()), "key_long": len(key) >= %d,
    "key_insecure": key.startswith("django-insecure-"), "debug": bool(settings.DEBUG),
    "hosts": len(hosts), "wildcard": "*" in hosts}))
"""


class DjangoSettingsCheck:
    def __init__(
        self, *, python: Path, manage: Path, min_key_length: int, timeout_s: float, name: str
    ) -> None:
        self.python, self.manage = python, manage
        self.min_key_length = min_key_length
        self.timeout_s = timeout_s
        self.name = name

    def probe(self) -> CheckResult:
        started = time.monotonic()
        argv = [str(self.python), str(self.manage), "shell", "-c", FACTS % self.min_key_length]
        try:
            done = subprocess.run(
                argv, cwd=self.manage.parent, capture_output=True, text=True,
                timeout=self.timeout_s, stdin=subprocess.DEVNULL, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckResult("inconclusive", f"could not run Django: {exc}", _since(started))
        lines = done.stdout.strip().splitlines()
        try:
            facts = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        except ValueError:
            facts = None
        if not isinstance(facts, dict):
            # its stderr is Django's own error (an unset setting raises ImproperlyConfigured),
            # which names settings, not their values
            why = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            return CheckResult("fail", f"Django's settings did not load: {why[0]}", _since(started))
        return self._judge(facts, _since(started))

    def _judge(self, facts: dict[str, object], duration: float) -> CheckResult:
        problems, fine = [], []
        if not facts.get("key_set"):
            problems.append("SECRET_KEY is not set")
        elif not facts.get("key_long"):
            problems.append(f"SECRET_KEY is shorter than {self.min_key_length} characters")
        elif facts.get("key_insecure"):
            problems.append("SECRET_KEY is Django's generated 'django-insecure-' key")
        else:
            fine.append(f"SECRET_KEY set (>= {self.min_key_length} characters)")
        (problems if facts.get("debug") else fine).append(
            "DEBUG is true" if facts.get("debug") else "DEBUG false"
        )
        hosts = int(str(facts.get("hosts", 0)))
        if hosts == 0:
            problems.append("ALLOWED_HOSTS is empty")
        elif facts.get("wildcard"):
            problems.append("ALLOWED_HOSTS allows every host ('*')")
        else:
            fine.append(f"ALLOWED_HOSTS: {hosts} host{'s' if hosts > 1 else ''}")
        if problems:
            return CheckResult("fail", "; ".join(problems), duration)
        return CheckResult("pass", ", ".join(fine), duration)


def _since(started: float) -> float:
    return time.monotonic() - started
