"""``docs/runbooks/deployment.md``: the runbook template's sections, filled from the spec and
the records (``facts``), in English or in French.

The six mandatory sections come first, under the template's exact headings,
then the optional ones (window, dependencies, communication, history).
Nothing here is typed by a person: each command is one Slipway runs, each
threshold is the spec's, each time is measured.
"""

from __future__ import annotations

import shlex

from slipway.checks.window import describe_rule
from slipway.runbook.facts import (
    NEXT,
    Facts,
    database_commands,
    health_probe,
    other_runs,
    release_source,
    slipway_command,
)
from slipway.runbook.markdown import table
from slipway.runbook.optional import (
    communication_section,
    dependencies_section,
    history_section,
    window_section,
)
from slipway.runbook.text import MANDATORY, OPTIONAL, Lang, t
from slipway.spec.checks import (
    EnvPreflight,
    HttpPreflight,
    ManualPreflight,
    preflight_name,
)
from slipway.spec.environment import Environment
from slipway.steps import Step
from slipway.store import CurrentRelease


def render(facts: Facts, lang: Lang = "en") -> str:
    env = facts.env
    sections = [
        f"# {t('title', lang)} — {env.app} / {env.name}",
        "> " + t("generated", lang, digest=facts.digest, command=_self(facts, lang)),
        _overview(facts, lang),
        *(
            _section(title, body)
            for title, body in zip(MANDATORY[lang], _mandatory(facts, lang), strict=True)
        ),
        *(
            _section(title, body)
            for title, body in zip(OPTIONAL[lang], _optional(facts, lang), strict=True)
        ),
    ]
    return "\n\n".join(sections).rstrip() + "\n"


def _self(facts: Facts, lang: Lang) -> str:
    extra = ["--lang", "fr"] if lang == "fr" else []
    return slipway_command("runbook", facts.env, *extra)


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body.strip()}"


def _mandatory(facts: Facts, lang: Lang) -> list[str]:
    return [
        _prerequisites(facts, lang),
        _checklist(facts, lang),
        _steps(facts, lang),
        _post(facts, lang),
        _rollback(facts, lang),
        _contacts(facts, lang),
    ]


def _optional(facts: Facts, lang: Lang) -> list[str]:
    return [
        window_section(facts, lang),
        dependencies_section(facts, lang),
        communication_section(facts, lang),
        history_section(facts, lang),
    ]


def _overview(facts: Facts, lang: Lang) -> str:
    env = facts.env
    names = env.instances.instance_names
    ports = [port for _, _, port in env.slots()]
    strategy = env.strategy
    db = f"PostgreSQL (`${env.database.url_env}`)" if env.database else t("none", lang)
    current = facts.current
    rows = [
        (t("application", lang), env.app),
        (t("environment", lang), env.name),
        (t("router", lang), f"HAProxy, {env.router.listen.host}:{env.router.listen.port}"),
        (t("targets", lang), ", ".join(f"{x.name} ({x.type})" for x in env.targets)),
        (
            t("instances", lang),
            f"{len(names)}: {', '.join(names)} (ports {min(ports)}-{max(ports)})",
        ),
        (
            t("strategy", lang),
            strategy.describe(),
        ),
        (t("database", lang), db),
        (t("owner", lang), env.runbook.owner or "—"),
        (t("current", lang), _current(env, current) if current else t("none", lang)),
    ]
    return table([t("attribute", lang), t("value", lang)], rows)


def _current(env: Environment, current: CurrentRelease) -> str:
    """The current release; on a fleet whose hosts run several (``--limit``), each with its
    hosts."""
    if env.fleet is None:
        return f"{current.version} ({current.updated_at})"
    where: dict[str, list[str]] = {}
    for host, version in current.versions(env.fleet.app_hosts).items():
        where.setdefault(version or "—", []).append(host)
    if len(where) == 1:
        return f"{next(iter(where))} ({current.updated_at})"
    return "; ".join(f"{v} ({', '.join(hosts)})" for v, hosts in sorted(where.items()))


def _prerequisites(facts: Facts, lang: Lang) -> str:
    env = facts.env
    items = [
        t("prereq_spec", lang, state=env.state_dir),
        t("prereq_release", lang, source=release_source(env)),
        t("prereq_parts", lang),
    ]
    if env.database:
        items.append(t("prereq_pg", lang, var=env.database.url_env))
    names = sorted(_variables(facts))
    if names:
        items.append(t("prereq_vars", lang, names=", ".join(f"`${n}`" for n in names)))
    items.append(t("prereq_rollback", lang, target=env.runbook.rollback_max_s))
    return "\n".join(f"- {item}" for item in items)


def _variables(facts: Facts) -> set[str]:
    env = facts.env
    names = {n.url_env for n in env.notifications}
    names |= {v for c in env.checks if isinstance(c, EnvPreflight) for v in c.variables}
    if env.database:
        names.add(env.database.url_env)
    return names


def _checklist(facts: Facts, lang: Lang) -> str:
    env = facts.env
    rows: list[tuple[object, ...]] = []
    if env.window is not None:
        rules = "; ".join(describe_rule(list(r.days), r.hours) for r in env.window.allow)
        rows.append(
            (
                "deploy window",
                t("automated", lang),
                f"{rules} ({env.window.timezone})",
                "—",
                t("yes", lang),
            )
        )
    for check in env.checks:
        how, threshold = check.how(facts.env)
        kind = t("manual", lang) if isinstance(check, ManualPreflight) else t("automated", lang)
        owner = check.owner or (
            "—" if not isinstance(check, ManualPreflight) else t("unowned", lang)
        )
        blocking = (
            t("yes", lang)
            if check.blocking and not isinstance(check, ManualPreflight)
            else t("no", lang)
        )
        rows.append(
            (preflight_name(check), f"{kind}: {how}" if how else kind, threshold, owner, blocking)
        )
    numbered = [(i + 1, *row) for i, row in enumerate(rows)]
    headers = [
        "#",
        t("item", lang),
        t("how", lang),
        t("threshold", lang),
        t("owner", lang),
        t("blocking", lang),
    ]
    intro = t("check_intro", lang, command=slipway_command("check", env))
    return f"{intro}\n\n{table(headers, numbered)}"


def _steps(facts: Facts, lang: Lang) -> str:
    env = facts.env
    commands = [
        slipway_command("check", env),
        slipway_command(
            "deploy", env, "--version", NEXT, "[--commit <sha>]", '[--change "<text>"]'
        ),
    ]
    run = "\n".join(f"{i}. {t('run', lang)} `{c}`" for i, c in enumerate(commands, 1))
    intro = t("plan_intro", lang, command=slipway_command("plan", env, "--version", NEXT))
    rows = [(i + 1, step.description, _what_runs(step, facts)) for i, step in enumerate(facts.plan)]
    follow = t(
        "follow",
        lang,
        status=slipway_command("status", env),
        logs=slipway_command("logs", env, "<deployment>"),
    )
    return f"{run}\n\n{intro}\n\n{table(['#', t('step', lang), t('runs', lang)], rows)}\n\n{follow}"


def _what_runs(step: Step, facts: Facts) -> str:
    env = facts.env
    db = database_commands(env)
    url = f"${env.database.url_env}" if env.database else ""
    port = str(getattr(step.params, "port", "<port>"))
    match step.kind:
        case "prepare_release":
            return release_source(env)
        case "ensure_infra":
            return f"supervisord, HAProxy on {env.router.listen.host}:{env.router.listen.port}"
        case "backup_database":
            return f"`{db['backup']}`, then `{db['verify']}`"
        case "rehearse_migration":
            return (
                f"`{db['rehearse_restore']}`, `{db.get('migrate', '')}` on it, then DROP DATABASE"
            )
        case "migrate_database":
            return f"`{db.get('migrate', '')}` in releases/{NEXT}/ with {url}"
        case "restore_database":
            return f"`{db['restore']}`"
        case "start_instance":
            argv = [a.replace("{port}", port) for a in env.process.command]
            return f"`{shlex.join(argv)}` in releases/{NEXT}/, PORT={port}"
        case "health_check":
            return health_probe(env).replace("<port>", port)
        case "enable_instance":
            return "HAProxy runtime API: state ready"
        case "drain_instance":
            return f"HAProxy: drain, in-flight requests ≤ {env.router.drain_timeout_s:g}s"
        case "stop_instance":
            return f"SIGTERM, SIGKILL after {env.process.stop_timeout_s:g}s"
        case "mark_current":
            return f"link `current` → releases/{NEXT}, record it"
    return other_runs(step, env) or step.kind


def _post(facts: Facts, lang: Lang) -> str:
    env, health = facts.env, facts.env.health
    items = [
        t(
            "health",
            lang,
            probe=health_probe(env),
            interval=f"{health.interval_s:g}",
            healthy=health.healthy_threshold,
            unhealthy=health.unhealthy_threshold,
            timeout=f"{health.timeout_s:g}",
        ),
        t("post_status", lang, command=slipway_command("status", env)),
    ]
    items += [
        f"{t('smoke', lang)}: GET {c.url} → HTTP {c.expect_status}"
        for c in env.checks
        if isinstance(c, HttpPreflight)
    ]
    items += [f"{t('monitoring', lang)}: {url}" for url in env.runbook.monitoring]
    return "\n".join(f"- {item}" for item in items)


def _rollback(facts: Facts, lang: Lang) -> str:
    env = facts.env
    target = env.runbook.rollback_max_s
    lines = [
        f"- {t('auto_rollback', lang, on_failure=env.on_failure)}",
        f"- {t('manual_rollback', lang)}: `{slipway_command('rollback', env)}` "
        f"(`--to <version>` for an older one)",
    ]
    if facts.rollbacks:
        last = facts.rollbacks[0]
        lines.append(
            "- "
            + t(
                "measured",
                lang,
                seconds=last.seconds,
                source=last.source,
                reference=last.reference,
                at=last.at,
                target=target,
            )
        )
    else:
        lines.append(
            "- "
            + t(
                "unmeasured",
                lang,
                command=slipway_command("drill", env, "--version", NEXT),
                target=target,
            )
        )
    body = "\n".join(lines)
    if env.database:
        db = database_commands(env)
        body += f"\n\n{t('db_rollback', lang)}\n\n```sh\n{db['restore']}\n```"
        backup = facts.last_backup
        if backup is not None:
            verified = t("verified", lang) if backup.verified else t("not_verified", lang)
            body += "\n\n" + t(
                "last_backup",
                lang,
                id=backup.id,
                at=backup.created_at,
                size=backup.size_bytes,
                sha=backup.sha256[:12],
                verified=verified,
            )
    body += "\n\n" + t("after_rollback", lang, status=slipway_command("status", env))
    return body


def _contacts(facts: Facts, lang: Lang) -> str:
    levels = facts.env.contacts
    if not levels:
        return t("no_contacts", lang)
    parts = []
    headers = [
        t("role", lang),
        t("name", lang),
        t("phone", lang),
        t("handle", lang),
        t("hours", lang),
    ]
    for level in sorted(levels, key=lambda lv: lv.level):
        title = f"### {t('level', lang)} {level.level}" + (
            f" — {level.title}" if level.title else ""
        )
        rows = [
            (c.role, c.name, c.phone or "—", c.handle or "—", c.hours or "—")
            for c in level.contacts
        ]
        parts.append(f"{title}\n\n{table(headers, rows)}")
    return "\n\n".join(parts)
