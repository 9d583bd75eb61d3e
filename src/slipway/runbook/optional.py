"""The runbook's optional sections: maintenance window, dependencies, communication templates
and history — the last two straight from what Slipway sends and what it recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from slipway.checks.window import describe_rule
from slipway.notify.messages import build_message
from slipway.notify.sender import channel_name
from slipway.runbook.facts import NEXT, Facts
from slipway.runbook.markdown import table
from slipway.runbook.text import Lang, t
from slipway.spec.notify import NotifyEvent


def window_section(facts: Facts, lang: Lang) -> str:
    window = facts.env.window
    if window is None:
        return t("no_window", lang)
    rows = [(describe_rule(list(r.days), r.hours), r.risk or "—") for r in window.allow]
    zone = t("timezone", lang, zone=window.timezone)
    body = f"{table([t('days', lang), t('risk', lang)], rows)}\n\n{zone}"
    if window.freezes:
        freezes = "\n".join(
            f"- {f.name}: {f.start} → {f.end}" + (f" ({f.reason})" if f.reason else "")
            for f in window.freezes
        )
        body += f"\n\n**{t('freezes', lang)}**\n\n{freezes}"
    return body


def dependencies_section(facts: Facts, lang: Lang) -> str:
    deps = facts.env.runbook.dependencies
    if not deps:
        return "—"
    rows = [(d.name, d.impact or "—", d.contact or "—") for d in deps]
    return table([t("service", lang), t("impact", lang), t("contact", lang)], rows)


def communication_section(facts: Facts, lang: Lang) -> str:
    env = facts.env
    channels = ", ".join(f"{channel_name(c)} ({', '.join(c.events)})" for c in env.notifications)
    intro = t("channels", lang, channels=channels) if channels else t("no_channels", lang)
    samples = []
    at = datetime(2000, 1, 1, tzinfo=UTC)
    events: tuple[NotifyEvent, ...] = ("succeeded", "rolled_back")
    for event in events:
        message = build_message(
            event,
            app=env.app,
            environment=env.name,
            deployment_id="<deployment>",
            version=NEXT,
            at=at,
            who="<who>",
            commit_id="<commit>",
            previous_version="<previous>",
            changes=["<change>"],
            reason="<reason>",
            duration_s=None,
            contacts=env.contacts,
        )
        samples.append(
            "```text\n" + message.text().replace("2000-01-01 00:00 UTC", "<time> UTC") + "\n```"
        )
    return intro + "\n\n" + "\n\n".join(samples)


def history_section(facts: Facts, lang: Lang) -> str:
    rows = []
    for row in facts.history[:10]:
        d = row.deployment
        spec = t("this_spec", lang) if row.current_spec else t("older_spec", lang)
        duration = f"{row.duration_s:.1f}s" if row.duration_s is not None else "—"
        rollback = f"{d.rollback_s:.1f}s" if d.rollback_s is not None else "—"
        note = d.reason or (f"{d.kind} from {d.previous_version}" if d.previous_version else d.kind)
        rows.append(
            (
                d.started_at[:16].replace("T", " "),
                d.version,
                row.who or "—",
                d.status,
                duration,
                rollback,
                spec,
                note[:120],
            )
        )
    headers = [
        t(k, lang)
        for k in ("date", "version", "by", "outcome", "duration", "rollback", "spec", "notes")
    ]
    body = table(headers, rows) if rows else t("no_history", lang)
    if facts.drills:
        drill_rows = [
            (
                d.at[:16].replace("T", " "),
                f"{d.version} → {d.back_to}",
                d.outcome,
                f"{d.rollback_s:.1f}s" if d.rollback_s is not None else "—",
            )
            for d in facts.drills
        ]
        body += f"\n\n**{t('drills', lang)}**\n\n" + table(
            [t("date", lang), t("version", lang), t("outcome", lang), t("rollback", lang)],
            drill_rows,
        )
    return body
