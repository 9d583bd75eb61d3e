"""Roles without traffic on a fleet: programs ``role-<process>`` of each host's supervisord.

Roles map to inventory groups (``Environment.role_slots``): each process belongs to one host,
which may be outside the hosts web runs on (a ``workers`` group). The release is sent to that
host on the process's first start (skipped when it already has the digest), exactly as for a
web instance; the program and its sidecar ``role-<process>.json`` are written in one round
trip, and a stop is supervisord's ``stopProcess`` — it answers once the process is reaped,
after its warm shutdown — so a singleton's successor starts only after it.

Only the ``supervisord`` service runs roles on a fleet for now; with ``systemd`` or your own
commands, ``Parts.roles`` is None and a spec with roles fails its first role step, saying so.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from slipway.errors import BackendError, PermanentError, SlipwayError
from slipway.ssh.layout import ReleaseSync
from slipway.ssh.pool import SshPool
from slipway.supervisord.remote import LAUNCH, launch_script
from slipway.targets.base import CommandRun, ProcessState, RoleProcess
from slipway.targets.ssh import process_host, raise_failures
from slipway.targets.ssh_services import SupervisordPrograms

PREFIX = "role-"


class SshRoles:
    def __init__(
        self,
        pool: SshPool,
        programs: SupervisordPrograms,
        *,
        sync: ReleaseSync,
        process_hosts: Mapping[str, str],
        stop_timeouts: Mapping[str, float],
    ) -> None:
        self.pool = pool
        self.programs = programs
        self.sync = sync
        self.process_hosts = dict(process_hosts)  # every slot of every role → its host
        self.stop_timeouts = dict(stop_timeouts)  # every slot → its role's warm shutdown

    def _host(self, name: str) -> str:
        return process_host(self.process_hosts, name)

    def processes(self) -> list[ProcessState]:
        hosts = sorted(set(self.process_hosts.values()))
        results = self.pool.map(hosts, self._on_host)
        raise_failures(results)
        found = [p for result in results.values() if isinstance(result, list) for p in result]
        return sorted(found, key=lambda p: p.name)

    async def _on_host(self, host: str) -> list[ProcessState]:
        sv = self.programs.supervisor(host)
        pattern = f"{sv.run_dir}/programs/{PREFIX}*.json"
        infos, listing = await asyncio.gather(
            sv.aprograms(), self.pool.arun(host, f"cat {pattern} 2>/dev/null || true")
        )
        meta = {}
        for line in listing.stdout.splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and "name" in data:
                meta[str(data["name"])] = data
        result = []
        for info in infos or []:
            program = str(info["name"])
            if not program.startswith(PREFIX):
                continue
            name = program.removeprefix(PREFIX)
            data = meta.get(name, {})
            state = str(info["statename"])
            running = state == "RUNNING"
            result.append(
                ProcessState(
                    name=name,
                    role=str(data.get("role", name.split("-")[0])),
                    version=str(data.get("version", "?")),
                    running=running,
                    state=state,
                    pid=int(info["pid"]) or None if running else None,
                )
            )
        return result

    def start_process(self, spec: RoleProcess) -> None:
        host = self._host(spec.name)
        address = self.pool.host(host).address
        env = {
            **spec.env,
            "SLIPWAY_VERSION": spec.version,
            "SLIPWAY_ROLE": spec.role,
            "SLIPWAY_PROCESS": spec.name,
            "SLIPWAY_ADDRESS": address,
        }
        program = PREFIX + spec.name
        meta = {"name": spec.name, "role": spec.role, "version": spec.version}

        async def run() -> None:
            await self.sync.ensure(host, spec.version, Path(spec.release_dir))
            sv = self.programs.supervisor(host)
            await sv.aensure_running()
            files = sv.program_files(
                program,
                command=[a.replace("{address}", address) for a in spec.command],
                directory=self.sync.layout.release_dir(spec.version),
                env=env,
                stop_timeout_s=spec.stop_timeout_s,
                start_secs=self.programs.start_secs,
            )
            files[f"programs/{program}.json"] = (json.dumps(meta).encode() + b"\n", 0o644)
            await sv.awrite(files)
            try:
                await sv.aadd_and_start(program, start_secs=self.programs.start_secs)
            except BackendError as exc:
                tail = await sv.alog_tail(program)
                raise PermanentError(
                    f"{spec.name} on {host}: {spec.version} did not start ({exc}); its log "
                    f"ends with:\n{tail}"
                ) from exc

        self.pool.call(run())

    def run_beside(
        self, name: str, argv: Sequence[str], *, directory: Path, env: Mapping[str, str],
        timeout_s: float,
    ) -> CommandRun:  # fmt: skip
        """On the process's host, in its release there; ``env`` travels in a launch script on
        stdin (``LAUNCH`` sources ``/dev/stdin``), never on the command line."""
        host = self._host(name)
        release = self.sync.layout.release_dir(Path(directory).name)
        command = (
            f"cd {shlex.quote(release)} && exec /bin/sh -c {shlex.quote(LAUNCH)} "
            f"slipway-launch /dev/stdin {shlex.join(argv)}"
        )
        try:
            done = self.pool.run(
                host, command, stdin=launch_script(env).encode(), timeout_s=timeout_s, check=False
            )
        except SlipwayError as exc:  # unreachable, timed out: no answer
            return CommandRun(None, f"{host}: {exc}")
        return CommandRun(done.exit_status, (done.stdout + done.stderr).strip()[-500:])

    def stop_process(self, name: str) -> None:
        host = self._host(name)
        sv = self.programs.supervisor(host)
        program = PREFIX + name

        async def run() -> None:
            if not sv.known_running and not await sv.ais_running():
                return
            timeout = self.stop_timeouts.get(name, 30.0)
            await sv.aremove(program, also=(f"{program}.json",), stop_timeout_s=timeout)

        self.pool.call(run())
