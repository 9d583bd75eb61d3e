"""`slipway runbook`, `runbook --check` and `drill` as a user runs them, on the real sample app
behind HAProxy: the criteria are met only by real deployments and a measured rollback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from slipway.spec import load_spec
from slipway.store import Store
from slipway.store.records import Records

SECTIONS = """
checks:
  - {type: disk, path: /, min_free_percent: 1}
  - {type: manual, name: customer told, owner: Project manager}
contacts:
  - level: 1
    contacts: [{role: DevOps lead, name: Antoine Moreau, phone: "+33 6 12 34 56 78", hours: 9h-19h}]
"""


def slipway(spec_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "slipway", *args, "-f", str(spec_file)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def criteria(spec_file: Path) -> tuple[int, dict[int, bool]]:
    result = slipway(spec_file, "runbook", "--check", "--output", "json")
    data = json.loads(result.stdout)
    return result.returncode, {c["number"]: c["ok"] for c in data["criteria"]}


def test_criteria_are_met_by_a_deployment_and_a_drill(spec_file: Path) -> None:
    spec_file.write_text(spec_file.read_text() + SECTIONS)
    code, met = criteria(spec_file)
    assert code == 4 and met == {1: False, 2: False, 3: True, 4: True}
    text = slipway(spec_file, "runbook", "--check")
    assert (
        "missing (1) deploy with this spec: `slipway deploy --env test --version <version>`"
        in text.stdout
    )

    no_current = slipway(spec_file, "drill", "--version", "v2")
    assert no_current.returncode == 2 and "no current release" in no_current.stderr

    assert slipway(spec_file, "deploy", "--version", "v1").returncode == 0
    drill = slipway(spec_file, "drill", "--version", "v2", "--output", "json")
    assert drill.returncode == 0, drill.stderr
    result = json.loads(drill.stdout)
    assert result["outcome"] == "passed" and result["within_target"]
    assert result["back_to"] == "v1" and 0 < result["rollback_s"] < 300
    status = json.loads(slipway(spec_file, "status", "--output", "json").stdout)
    assert status["current"]["version"] == "v1"

    code, met = criteria(spec_file)
    assert code == 0 and all(met.values())

    env = load_spec(spec_file).environment("test")
    store = Store.for_state_dir(env.state_dir.parent)
    [recorded] = Records(store).drills("shop", "test")
    assert recorded.rollback_s == result["rollback_s"] and recorded.outcome == "passed"
    rollback = store.deployment(result["rollback"]["id"])
    assert rollback.kind == "rollback" and rollback.rollback_s == result["rollback_s"]

    written = slipway(spec_file, "runbook", "--lang", "fr", "--output", "json")
    assert written.returncode == 0, written.stderr
    data = json.loads(written.stdout)
    path = Path(data["path"])
    assert path == spec_file.parent / "docs" / "runbooks" / "deployment.md"
    assert data["sections"][:6] == [
        "Prérequis", "Checklist pré-déploiement", "Étapes de déploiement",
        "Vérifications post-déploiement", "Procédure de rollback", "Contacts d'escalade",
    ]  # fmt: skip
    document = path.read_text()
    assert f"| v2 → v1 | passed | {result['rollback_s']:.1f}s |" in document
    assert "Mesuré : dernier rollback" in document

    # the next deployment rewrites it, in French, with itself in the history
    assert slipway(spec_file, "deploy", "--version", "v2").returncode == 0
    refreshed = path.read_text()
    assert refreshed.startswith("# Runbook de déploiement — shop / test")
    latest = next(
        line for line in refreshed.split("## Historique")[1].splitlines() if line.startswith("| 20")
    )
    assert "| v2 |" in latest and "| succeeded |" in latest and "deploy from v1" in latest

    # a changed runbook has not been tried yet
    spec_file.write_text(
        spec_file.read_text().replace("min_free_percent: 1", "min_free_percent: 2")
    )
    code, met = criteria(spec_file)
    assert code == 4 and met[1] is False and met[2] is True
