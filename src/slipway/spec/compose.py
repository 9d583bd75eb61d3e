"""A Compose file (the compose-spec format) read into a ``slipway.yaml`` for a docker target.

``slipway init --from-compose docker-compose.prod.yml`` starts teams that deploy with
``docker-compose up -d`` from what they already have. The service with published ports is
the web process behind HAProxy: its ``build`` (or ``image``), ``command``, ``environment``,
``volumes``, ``healthcheck``, ``restart``, ``stop_grace_period`` and ``deploy.replicas``
become the spec's release, process, health and target. Everything that cannot be carried
over is *listed*, never dropped silently. Services without ports that run the same image
(workers, beat) become roles without traffic (``compose_roles.py``); listed are the services
web ``depends_on`` (databases, brokers: started first, not by Slipway), ``env_file``
(secrets do not go into slipway.yaml: its variables are named, not copied), a variable
Compose would take from the shell, and every key Slipway has no place for (networks, a
fixed container_name, …).

A version in a tag or a build argument — ``${TAG}``, ``${VERSION:-latest}`` — becomes
``{version}``. The generated file is validated like any other before it is written.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from slipway.errors import UsageError
from slipway.spec.compose_roles import role_name, role_of, same_release, seconds

VERSION_VARIABLE = re.compile(r"\$\{?(TAG|VERSION|IMAGE_TAG|RELEASE|APP_VERSION)(:?-[^}]*)?\}?")
OTHER_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
LOCAL_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1)(?::\d+)?(/[^\s\"']*)?")
MAPPED = {
    "build", "image", "command", "environment", "env_file", "volumes", "healthcheck",
    "depends_on", "ports", "restart", "stop_grace_period", "deploy",
}  # fmt: skip
RESTARTS = {"no", "always", "unless-stopped", "on-failure"}


@dataclass
class Imported:
    """The spec made from a Compose file, and what of the file it could not carry over."""

    spec: dict[str, Any]
    web: str
    workers: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # role → the service it came from
    dependencies: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    def text(self, source: str) -> str:
        lines = [f"# slipway.yaml made by `slipway init --from-compose {source}`: the web"]
        lines.append(f"# service {self.web!r} as containers behind HAProxy.")
        for role, service in self.roles.items():
            lines.append(f"# Service {service!r} as the role {role!r} (no traffic).")
        lines.append("# Not carried over:")
        lines += [f"#   - {item}" for item in self.unmapped] or ["#   (nothing)"]
        dumped = yaml.safe_dump(self.spec, sort_keys=False, default_flow_style=False, width=100)
        return "\n".join(lines) + "\n" + dumped


def from_compose(path: Path, *, app: str, spec_dir: Path) -> Imported:
    services = _services(path)
    webs = [name for name, s in services.items() if s.get("ports")]
    if not webs:
        raise UsageError(
            f"{path}: no service publishes a port",
            hint="the web service (behind the router) is the one with `ports:`",
        )
    web = webs[0]
    found = Imported(spec={}, web=web)
    depends = _depends(services[web])
    for name in services:
        if name == web:
            continue
        if name in depends and not services[name].get("build"):
            found.dependencies.append(name)
            found.unmapped.append(f"services.{name}: a dependency of {web}; start it first")
        else:
            found.workers.append(name)
    _web(found, services[web], base=path.parent, spec_dir=spec_dir, app=app)
    _roles(found, services)
    return found


def _roles(found: Imported, services: dict[str, dict[str, Any]]) -> None:
    """The services left beside web, as roles without traffic where they can be one."""
    web = services[found.web]
    roles: dict[str, Any] = {}
    for name in found.workers:
        service = services[name]
        role = role_name(name)
        if service.get("ports"):
            found.unmapped.append(f"services.{name}: another web service; one web per spec")
        elif not same_release(service, web):
            found.unmapped.append(
                f"services.{name}: a worker of another image; a role runs the release's image"
            )
        elif role is None or role in roles:
            found.unmapped.append(f"services.{name}: no role name can be made of it")
        else:
            made = role_of(found, name, service, environment=_environment(found, service, name))
            if made is not None:
                roles[role] = made
                found.roles[role] = name
    if roles:
        found.spec["roles"] = roles


def _services(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint="give a Compose file") from None
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{path} is not YAML: {exc}", hint="check it with `docker-compose config`"
        ) from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not services:
        raise UsageError(f"{path} has no `services:`", hint="a compose-spec file has services")
    bad = [str(n) for n, s in services.items() if not isinstance(s, dict)]
    if bad:
        raise UsageError(f"{path}: services {', '.join(bad)} are not mappings", hint="key: value")
    return {str(n): s for n, s in services.items()}


def _depends(service: dict[str, Any]) -> list[str]:
    depends = service.get("depends_on") or []
    return [str(d) for d in (depends if isinstance(depends, list) else dict(depends))]


def _web(found: Imported, service: dict[str, Any], *, base: Path, spec_dir: Path, app: str) -> None:
    web = found.web
    note = found.unmapped.append
    for key in sorted(set(service) - MAPPED):
        note(
            f"services.{web}.{key}: not mapped (containers run on the host's network, one per slot)"
        )
    published, target_port, listen_host = _port(service["ports"])
    count = int((service.get("deploy") or {}).get("replicas") or 2)
    base_port = target_port if target_port != published else published + 1
    note(
        f"services.{web}: the app must listen on $PORT (each slot has its own port), "
        f"not {target_port}"
    )
    process: dict[str, Any] = {"command": _command(found, service, base=base)}
    env = _environment(found, service)
    if env:
        process["env"] = env
    grace = service.get("stop_grace_period")
    process["stop_timeout_s"] = seconds(grace) if grace else 10.0
    target: dict[str, Any] = {"type": "docker"}
    restart = str(service.get("restart", "unless-stopped"))
    if restart in RESTARTS:
        target["restart"] = restart
    volumes = [
        _volume(found, v, base=base, spec_dir=spec_dir) for v in service.get("volumes") or []
    ]
    if any(volumes):
        target["volumes"] = [v for v in volumes if v]
    found.spec = {
        "version": 1,
        "app": app,
        "state_dir": ".slipway",
        "release": {"image": _image(found, service, base=base, spec_dir=spec_dir), "keep": 5},
        "process": process,
        "health": _health(found, service),
        "strategy": {"type": "rolling", "batch_size": 1, "max_surge": 1, "max_unavailable": 0},
        "environments": {
            "production": {
                "router": {"type": "haproxy", "listen": f"{listen_host}:{published}"},
                "instances": {"count": count, "base_port": base_port},
                "targets": [target],
            }
        },
    }


def _port(ports: Any) -> tuple[int, int, str]:
    """(published, container port, host address) of the first published port."""
    first = ports[0] if isinstance(ports, list) and ports else ports
    if isinstance(first, dict):
        target = int(first["target"])
        return int(first.get("published") or target), target, str(first.get("host_ip", "0.0.0.0"))
    parts = str(first).split("/")[0].split(":")
    if len(parts) == 1:
        return int(parts[0]), int(parts[0]), "0.0.0.0"
    host = parts[0] if len(parts) == 3 else "0.0.0.0"
    return int(parts[-2]), int(parts[-1]), host


def _versioned(found: Imported, where: str, value: str) -> str:
    text = VERSION_VARIABLE.sub("{version}", value)
    for name in OTHER_VARIABLE.findall(text):
        found.unmapped.append(f"{where}: ${{{name}}} is Compose's interpolation; written as is")
    return text


def _image(
    found: Imported, service: dict[str, Any], *, base: Path, spec_dir: Path
) -> dict[str, Any]:
    build = service.get("build")
    if build is None:
        name = _versioned(found, f"services.{found.web}.image", str(service.get("image", "")))
        if "{version}" not in name:
            name = (
                name.rsplit(":", 1)[0] + ":{version}"
                if ":" in name.split("/")[-1]
                else name + ":{version}"
            )
        return {"name": name}
    if isinstance(build, str):
        build = {"context": build}
    context = base / str(build.get("context", "."))
    out: dict[str, Any] = {"context": os.path.relpath(context, spec_dir)}
    if build.get("dockerfile"):
        out["dockerfile"] = str(build["dockerfile"])
    args = build.get("args") or {}
    if isinstance(args, list):
        args = dict(_pair(str(a)) for a in args)
    if args:
        where = f"services.{found.web}.build.args"
        out["args"] = {str(k): _versioned(found, where, str(v)) for k, v in args.items()}
    for key in sorted(set(build) - {"context", "dockerfile", "args"}):
        found.unmapped.append(f"services.{found.web}.build.{key}: not mapped")
    return {"build": out}


def _pair(item: str) -> tuple[str, str]:
    key, _, value = item.partition("=")
    return key, value


def _command(found: Imported, service: dict[str, Any], *, base: Path) -> list[str]:
    if "entrypoint" in service:
        found.unmapped.append(f"services.{found.web}.entrypoint: not mapped (the image's is used)")
    command = service.get("command")
    if isinstance(command, list) and command:
        return [str(a) for a in command]
    if isinstance(command, str) and command.strip():
        return shlex.split(command)
    build = service.get("build")
    if isinstance(build, str):
        build = {"context": build}
    cmd = None
    if isinstance(build, dict):  # the image's CMD, as its Dockerfile says
        context = base / str(build.get("context", "."))
        cmd = _dockerfile_cmd(context / str(build.get("dockerfile", "Dockerfile")))
    if cmd:
        return cmd
    found.unmapped.append(f"services.{found.web}: no command found; set process.command")
    return ["sh", "-c", "echo 'set process.command in slipway.yaml' >&2; exit 1"]


def _dockerfile_cmd(dockerfile: Path) -> list[str] | None:
    try:
        lines = dockerfile.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    cmds = [line.strip()[3:].strip() for line in lines if line.strip().upper().startswith("CMD ")]
    if not cmds:
        return None
    last = cmds[-1]
    try:
        parsed = yaml.safe_load(last) if last.startswith("[") else None
    except yaml.YAMLError:
        parsed = None
    if isinstance(parsed, list) and parsed:
        return [str(a) for a in parsed]
    return ["sh", "-c", last]


def _environment(
    found: Imported, service: dict[str, Any], name: str | None = None
) -> dict[str, str]:
    web, env = name or found.web, service.get("environment") or {}
    pairs = (
        env.items()
        if isinstance(env, dict)
        else ((str(e).split("=", 1) if "=" in str(e) else (str(e), None)) for e in env)
    )
    result = {}
    for key, value in pairs:
        if value is None:
            found.unmapped.append(
                f"services.{web}.environment.{key}: taken from the shell by Compose; Slipway "
                "never passes the runner's environment: set it in process.env"
            )
            continue
        result[str(key)] = _versioned(found, f"services.{web}.environment.{key}", str(value))
    files = service.get("env_file") or []
    for env_file in [files] if isinstance(files, str) else files:
        found.unmapped.append(
            f"services.{web}.env_file {env_file}: not copied (secrets stay out of slipway.yaml)"
        )
    return result


def _volume(found: Imported, volume: Any, *, base: Path, spec_dir: Path) -> str | None:
    if isinstance(volume, dict):
        if volume.get("type") not in ("bind", "volume") or "target" not in volume:
            found.unmapped.append(f"services.{found.web}.volumes: {volume} not mapped")
            return None
        mode = ":ro" if volume.get("read_only") else ""
        volume = f"{volume.get('source', '')}:{volume['target']}{mode}"
    parts = str(volume).split(":")
    if len(parts) < 2 or not parts[0]:
        found.unmapped.append(f"services.{found.web}.volumes: {volume} (anonymous) not mapped")
        return None
    if parts[0].startswith((".", "/")) and not parts[0].startswith("/"):
        relative = os.path.relpath(base / parts[0], spec_dir)
        parts[0] = relative if relative.startswith(".") else f"./{relative}"
    return ":".join(parts)


def _health(found: Imported, service: dict[str, Any]) -> dict[str, Any]:
    check = service.get("healthcheck") or {}
    test = check.get("test")
    text = " ".join(test) if isinstance(test, list) else str(test or "")
    url = LOCAL_URL.search(text)
    health: dict[str, Any] = {
        "check": {"type": "http", "path": url[1] or "/"} if url else {"type": "tcp"}
    }
    if test and not url:
        found.unmapped.append(
            f"services.{found.web}.healthcheck: {text!r} runs inside the container; Slipway "
            "checks from the host: a tcp check instead"
        )
    if not test:
        found.unmapped.append(f"services.{found.web}: no healthcheck; a tcp check")
    if check.get("interval"):
        health["interval_s"] = seconds(check["interval"])
    if check.get("retries"):
        health["unhealthy_threshold"] = int(check["retries"])
    return health
