"""The rendered runbook: the template's headings in both languages, the commands Slipway runs,
the history and measured rollbacks taken from the store."""

from __future__ import annotations

import re
import shlex

from slipway.database.postgres import dump_argv, list_argv, restore_argv
from slipway.plan import build_plan
from slipway.runbook.facts import NEXT, gather, steady_plan
from slipway.runbook.render import render
from slipway.spec.digest import spec_digest
from slipway.store.records import Records
from tests.runbook.conftest import Setup

EN = ["Prerequisites", "Pre-deployment checklist", "Deployment steps", "Post-deployment checks",
      "Rollback procedure", "Escalation contacts", "Maintenance window", "Dependencies",
      "Communication templates", "History"]  # fmt: skip
FR = ["Prérequis", "Checklist pré-déploiement", "Étapes de déploiement",
      "Vérifications post-déploiement", "Procédure de rollback", "Contacts d'escalade",
      "Fenêtre de maintenance", "Dépendances", "Communication", "Historique"]  # fmt: skip


def headings(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, flags=re.M)


def record(setup: Setup, *, version: str, status: str, previous: str | None, rollback_s: float | None = None,
           kind: str = "deploy", who: str = "antoine", digest: str | None = None, reason: str | None = None) -> str:  # fmt: skip
    store = setup.store
    dep_id = store.new_deployment_id()
    store.create_deployment(
        deployment_id=dep_id, app="shop", environment="production", kind=kind, version=version,
        previous_version=previous, strategy="rolling",
    )  # fmt: skip
    store.update_deployment(
        dep_id, status=status, ended_at=store.now(), rollback_s=rollback_s, reason=reason
    )
    Records(store).note_deployment(dep_id, spec_digest=digest or spec_digest(setup.env), who=who)
    return dep_id


def test_mandatory_then_optional_headings_in_english_and_french(setup: Setup) -> None:
    facts = gather(setup.env, setup.store)
    assert headings(render(facts, "en")) == EN
    assert headings(render(facts, "fr")) == FR
    french = render(facts, "fr")
    assert french.startswith("# Runbook de déploiement — shop / production")
    assert "### Niveau 1 — Équipe technique" in french


def test_every_command_is_the_one_slipway_runs(setup: Setup) -> None:
    env = setup.env
    text = render(gather(env, setup.store), "en")
    assert "`slipway check --env production`" in text
    assert "`slipway deploy --env production --version <version>" in text
    assert "`make test`" in text  # the check's argv
    dump = f"{env.state_dir / 'backups'}/bk-<id>.dump"
    assert f"`{shlex.join(dump_argv(dump))}`" in text
    assert f"`{shlex.join(list_argv(dump))}`" in text
    assert shlex.join(restore_argv(dump, "<dbname>", clean=True)) in text
    assert "`python3 manage.py migrate --noinput` in releases/<version>/ with $DATABASE_URL" in text
    assert "`python3 server.py --port 9101` in releases/<version>/, PORT=9101" in text
    assert "GET http://127.0.0.1:9101/health → 200 within 2s" in text
    # the steps are the plan's, in its order
    plan = build_plan(env, version=NEXT, placement=[])
    steps = re.findall(
        r"^\| (\d+) \| ([^|]+) \|", text.split("## Deployment steps")[1].split("##")[0], flags=re.M
    )
    assert [d.strip() for _, d in steps] == [s.description for s in plan]
    assert [s.kind for s in plan][:5] == [
        "prepare_release", "ensure_infra", "backup_database", "rehearse_migration", "migrate_database"
    ]  # fmt: skip


def test_checklist_window_contacts_and_communication(setup: Setup) -> None:
    text = render(gather(setup.env, setup.store), "en")
    assert (
        "| 1 | deploy window | automated | tue-thu 10:00-16:00; fri 09:00-14:00 (Europe/Paris) |"
        in text
    )
    assert "| code review approved by 2 developers | manual | D-1 | Tech Lead | no |" in text
    assert (
        "| backup < 1h and verified | automated: last recorded backup | < 1 h, verified |" in text
    )
    assert "| DevOps Lead | Antoine Moreau | +33 6 12 34 56 78 | — | 9h-19h |" in text
    assert "- Black Friday: 2026-11-26 → 2026-11-30" in text
    assert (
        "Sent by Slipway to: deployments channel (started, succeeded, rolled_back, failed)" in text
    )
    assert "⚠️ Deployment rolled back: shop/production" in text
    assert "- level 2: CTO Jean-Pierre Martin, +33 6 98 76 54 32 (urgences uniquement)" in text
    assert "$SLACK_WEBHOOK_URL" in text and "$DATABASE_URL" in text
    assert "**it loses every write made since the backup.**" in text


def test_history_and_measured_rollback_come_from_the_store(setup: Setup) -> None:
    record(setup, version="v1.2.0", status="succeeded", previous=None)
    record(setup, version="v1.2.1", status="rolled_back", previous="v1.2.0", rollback_s=1.84,
           reason="health check failed on web-2", digest="sha256:older")  # fmt: skip
    record(setup, version="v1.2.2", status="succeeded", previous="v1.2.0")
    text = render(gather(setup.env, setup.store), "en")
    history = text.split("## History")[1]
    rows = [line for line in history.splitlines() if line.startswith("| 20")]
    assert [r.split(" | ")[1] for r in rows] == ["v1.2.2", "v1.2.1", "v1.2.0"]
    assert "| rolled_back |" in rows[1] and "| 1.8s |" in rows[1] and "| older |" in rows[1]
    assert "health check failed on web-2" in rows[1]
    assert "| antoine |" in rows[0] and "| current |" in rows[0]
    assert "Measured: last rollback 1.8s (automatic" in text
    assert "target under 300s" in text


def test_steady_plan_starts_from_the_current_release(setup: Setup) -> None:
    assert steady_plan(setup.env, None)[2].kind == "backup_database"
    dep = record(setup, version="v1", status="succeeded", previous=None)
    setup.store.set_current("shop", "production", version="v1", digest=None, deployment_id=dep)
    plan = steady_plan(setup.env, setup.store.current("shop", "production"))
    starts = [s for s in plan if s.kind == "start_instance"]
    assert [s.params.slot for s in starts] == [
        "web-1_b",
        "web-2_b",
        "web-3_b",
    ]  # beside v1 in _a
    assert any(s.kind == "drain_instance" and s.params.slot == "web-1_a" for s in plan)
