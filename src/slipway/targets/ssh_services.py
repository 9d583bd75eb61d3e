"""How instances run on a fleet host: supervisord programs, systemd units, or your own commands.

One small asynchronous interface, ``Service``, per host; ``SshTarget``
dispatches each slot to its host's service. Each service writes a sidecar
``<slot>.json`` (version, port, release directory) beside what it defines, so
``instances`` can say which release a process belongs to after the runner
that started it died — as the local target does.

A release failing to start is a ``PermanentError`` (roll back the release);
a host failing is a ``HostFailed`` (the host-failure policy decides).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from slipway.errors import BackendError, PermanentError
from slipway.ssh.pool import SshPool
from slipway.supervisord.remote import LAUNCH, RemoteSupervisor, launch_script, tar_of
from slipway.targets.base import InstanceState

PREFIX = "inst-"
q = shlex.quote


@dataclass(frozen=True)
class RemoteInstance:
    slot: str
    port: int
    version: str
    release_dir: str  # on the host
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    stop_timeout_s: float = 10.0

    def meta(self) -> dict[str, object]:
        return {"slot": self.slot, "version": self.version, "port": self.port}


class Service(Protocol):
    async def ensure_up(self, host: str) -> None: ...

    async def instances(self, host: str) -> list[InstanceState]: ...

    async def start(self, host: str, spec: RemoteInstance) -> None: ...

    async def stop(self, host: str, slot: str) -> None: ...

    async def down(self, host: str) -> None: ...


def _states(sidecars: str) -> dict[str, dict[str, object]]:
    found = {}
    for line in sidecars.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "slot" in data:
            found[str(data["slot"])] = data
    return found


class SupervisordPrograms:
    """Programs ``inst-<slot>`` of a supervisord in ``<deploy_to>/.slipway/supervisor``."""

    def __init__(
        self,
        pool: SshPool,
        deploy_to: str,
        *,
        python: str,
        start_secs: float,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.pool = pool
        self.run_dir = f"{deploy_to}/.slipway/supervisor"
        self.python = python
        self.start_secs = start_secs
        self.stop_timeout_s = stop_timeout_s  # the release's, for how long a stop may take
        self._sv: dict[str, RemoteSupervisor] = {}

    def supervisor(self, host: str) -> RemoteSupervisor:
        if host not in self._sv:
            self._sv[host] = RemoteSupervisor(self.pool, host, self.run_dir, python=self.python)
        return self._sv[host]

    async def ensure_up(self, host: str) -> None:
        await self.supervisor(host).aensure_running()

    async def _sidecars(self, host: str) -> dict[str, dict[str, object]]:
        pattern = f"{q(self.run_dir)}/programs/{PREFIX}*.json"
        found = await self.pool.arun(host, f"cat {pattern} 2>/dev/null || true")
        return _states(found.stdout)

    async def instances(self, host: str) -> list[InstanceState]:
        """Programs and their sidecars, read at once: one RPC and one command."""
        infos, meta = await asyncio.gather(
            self.supervisor(host).aprograms(), self._sidecars(host), return_exceptions=True
        )
        if isinstance(infos, BaseException):
            raise infos
        if isinstance(meta, BaseException):
            raise meta
        if infos is None:
            return []
        result = []
        for info in infos:
            name = str(info["name"])
            if not name.startswith(PREFIX):
                continue
            slot = name.removeprefix(PREFIX)
            state = str(info["statename"])
            data = meta.get(slot, {})
            result.append(
                InstanceState(
                    slot=slot,
                    port=int(str(data.get("port", 0))),
                    version=str(data.get("version", "?")),
                    running=state == "RUNNING",
                    state=state,
                    pid=int(info["pid"]) or None if state == "RUNNING" else None,
                )
            )
        return sorted(result, key=lambda i: i.slot)

    async def start(self, host: str, spec: RemoteInstance) -> None:
        """Write the program's files and start it: one command, two RPCs, the wait for RUNNING.

        Run again (a resumed step), it writes the same files, supervisord sees no change, and
        a program already RUNNING is left as it is.
        """
        sv = self.supervisor(host)
        program = PREFIX + spec.slot
        await sv.aensure_running()
        files = sv.program_files(
            program,
            command=spec.command,
            directory=spec.release_dir,
            env=spec.env,
            stop_timeout_s=spec.stop_timeout_s,
            start_secs=self.start_secs,
        )
        files[f"programs/{program}.json"] = (json.dumps(spec.meta()).encode() + b"\n", 0o644)
        await sv.awrite(files)
        try:
            await sv.aadd_and_start(program, start_secs=self.start_secs)  # once RUNNING
        except BackendError as exc:  # the release's fault; a HostFailed goes up as it is
            tail = await sv.alog_tail(program)
            raise PermanentError(
                f"{spec.slot} on {host}: {spec.version} did not start ({exc}); its log ends "
                f"with:\n{tail}"
            ) from exc

    async def stop(self, host: str, slot: str) -> None:
        sv = self.supervisor(host)
        if not sv.known_running and not await sv.ais_running():
            return
        program = PREFIX + slot
        await sv.aremove(program, also=(f"{program}.json",), stop_timeout_s=self.stop_timeout_s)

    async def down(self, host: str) -> None:
        await self.supervisor(host).ashutdown()


class SystemdService:
    """Units ``slipway-<app>-<slot>.service`` in ``unit_dir``; the hosts' systemd runs them."""

    def __init__(self, pool: SshPool, deploy_to: str, *, app: str, unit_dir: str) -> None:
        self.pool = pool
        self.app = app
        self.unit_dir = unit_dir
        self.state_dir = f"{deploy_to}/.slipway/systemd"

    def unit(self, slot: str) -> str:
        return f"slipway-{self.app}-{slot}.service"

    def unit_text(self, spec: RemoteInstance) -> str:
        """The unit: it runs the launch file (argv and environment) as supervisord programs do.

        The instance's argv is in that file, not on ``ExecStart``: a unit file is read line by
        line, and an argument may hold a newline. What is left for the unit (paths, names)
        is refused if it holds a control character.
        """
        env_file = f"{self.state_dir}/{spec.slot}.env"
        argv = ["/bin/sh", "-c", LAUNCH, "slipway-launch", env_file]
        # systemd expands % specifiers and $VARIABLES in ExecStart: double them
        exec_start = shlex.join(argv).replace("%", "%%").replace("$", "$$")
        description = f"Slipway {self.app} {spec.slot} ({spec.version})".replace("%", "%%")
        for value in (description, spec.release_dir, exec_start):
            if re.search(r"[\x00-\x1f\x7f]", value):
                raise PermanentError(f"{value!r} cannot be written into a systemd unit")
        return "\n".join(
            [
                "# written by Slipway: edits are overwritten",
                "[Unit]",
                f"Description={description}",
                "",
                "[Service]",
                f"WorkingDirectory={spec.release_dir}",
                f"ExecStart={exec_start}",
                "KillSignal=SIGTERM",
                f"TimeoutStopSec={max(1, round(spec.stop_timeout_s))}",
                "Restart=on-failure",
                "",
            ]
        )

    async def ensure_up(self, host: str) -> None:
        await self.pool.arun(
            host, f"mkdir -p {q(self.state_dir)} && systemctl --version >/dev/null"
        )

    async def instances(self, host: str) -> list[InstanceState]:
        found = await self.pool.arun(host, f"cat {q(self.state_dir)}/*.json 2>/dev/null || true")
        result = []
        for slot, data in _states(found.stdout).items():
            show = await self.pool.arun(
                host, f"systemctl show -p ActiveState -p MainPID {q(self.unit(slot))}", check=False
            )
            props = dict(line.partition("=")[::2] for line in show.stdout.splitlines())
            state = props.get("ActiveState", "unknown")
            pid = int(props.get("MainPID", "0") or 0)
            result.append(
                InstanceState(
                    slot=slot,
                    port=int(str(data.get("port", 0))),
                    version=str(data.get("version", "?")),
                    running=state == "active",
                    state=state,
                    pid=pid or None,
                )
            )
        return sorted(result, key=lambda i: i.slot)

    def start_command(self, spec: RemoteInstance) -> str:
        unit = q(self.unit(spec.slot))
        return (
            f"umask 077 && tar -xf - -C {q(self.state_dir)} && "
            f"mv {q(f'{self.state_dir}/{spec.slot}.service')} {q(f'{self.unit_dir}/')} && "
            f"systemctl daemon-reload && systemctl restart {unit} && systemctl is-active {unit}"
        )

    async def start(self, host: str, spec: RemoteInstance) -> None:
        env = launch_script(spec.env, spec.command)
        files = {
            f"{spec.slot}.service": (self.unit_text(spec).encode(), 0o644),
            f"{spec.slot}.env": (env.encode(), 0o600),
            f"{spec.slot}.json": (json.dumps(spec.meta()).encode() + b"\n", 0o644),
        }
        result = await self.pool.arun(
            host, self.start_command(spec), stdin=tar_of(files), check=False
        )
        if not result.ok:
            raise PermanentError(
                f"{spec.slot} on {host}: {self.unit(spec.slot)} did not start: "
                f"{(result.stderr or result.stdout).strip()[-400:]}"
            )

    def stop_command(self, slot: str) -> str:
        unit = self.unit(slot)
        return (
            f"systemctl stop {q(unit)} || true; rm -f {q(f'{self.unit_dir}/{unit}')} "
            f"{q(f'{self.state_dir}/{slot}.json')} {q(f'{self.state_dir}/{slot}.env')} && "
            "systemctl daemon-reload"
        )

    async def stop(self, host: str, slot: str) -> None:
        await self.pool.arun(host, self.stop_command(slot))

    async def down(self, host: str) -> None:
        for instance in await self.instances(host):
            await self.stop(host, instance.slot)


class CommandService:
    """Your start/stop/status commands, run in the release directory with the environment."""

    def __init__(
        self,
        pool: SshPool,
        deploy_to: str,
        *,
        start: Sequence[str],
        stop: Sequence[str],
        status: Sequence[str],
    ) -> None:
        self.pool = pool
        self.state_dir = f"{deploy_to}/.slipway/commands"
        self._start, self._stop, self._status = list(start), list(stop), list(status)

    def _command(self, argv: Sequence[str], data: Mapping[str, object], env_file: str) -> str:
        words = [
            a.replace("{slot}", str(data["slot"]))
            .replace("{port}", str(data["port"]))
            .replace("{release}", str(data.get("release_dir", "")))
            for a in argv
        ]
        launch = ["/bin/sh", "-c", LAUNCH, "slipway-launch", env_file, *words]
        return f"cd {q(str(data.get('release_dir', '/')))} && {shlex.join(launch)}"

    async def ensure_up(self, host: str) -> None:
        await self.pool.arun(host, f"mkdir -p {q(self.state_dir)}")

    async def _meta(self, host: str) -> dict[str, dict[str, object]]:
        found = await self.pool.arun(host, f"cat {q(self.state_dir)}/*.json 2>/dev/null || true")
        return _states(found.stdout)

    async def instances(self, host: str) -> list[InstanceState]:
        result = []
        for slot, data in (await self._meta(host)).items():
            env_file = f"{self.state_dir}/{slot}.env"
            status = await self.pool.arun(
                host, self._command(self._status, data, env_file), check=False
            )
            result.append(
                InstanceState(
                    slot=slot,
                    port=int(str(data.get("port", 0))),
                    version=str(data.get("version", "?")),
                    running=status.ok,
                    state="RUNNING" if status.ok else "STOPPED",
                    pid=None,
                )
            )
        return sorted(result, key=lambda i: i.slot)

    async def start(self, host: str, spec: RemoteInstance) -> None:
        data = {**spec.meta(), "release_dir": spec.release_dir}
        env = launch_script(spec.env)
        files = {
            f"{spec.slot}.env": (env.encode(), 0o600),
            f"{spec.slot}.json": (json.dumps(data).encode() + b"\n", 0o644),
        }
        await self.pool.arun(
            host, f"umask 077 && tar -xf - -C {q(self.state_dir)}", stdin=tar_of(files)
        )
        env_file = f"{self.state_dir}/{spec.slot}.env"
        result = await self.pool.arun(host, self._command(self._start, data, env_file), check=False)
        if not result.ok:
            raise PermanentError(
                f"{spec.slot} on {host}: the start command exited with {result.exit_status}: "
                f"{(result.stderr or result.stdout).strip()[-400:]}"
            )

    async def stop(self, host: str, slot: str) -> None:
        data = (await self._meta(host)).get(slot)
        if data is None:
            return
        env_file = f"{self.state_dir}/{slot}.env"
        await self.pool.arun(host, self._command(self._stop, data, env_file))
        await self.pool.arun(host, f"rm -f {q(f'{self.state_dir}/{slot}.json')} {q(env_file)}")

    async def down(self, host: str) -> None:
        for slot in await self._meta(host):
            await self.stop(host, slot)
