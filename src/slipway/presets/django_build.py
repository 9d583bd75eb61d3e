"""``python -m slipway.presets.django_build [options] VERSION OUTPUT``: a Django release.

What the seeds' runbooks do by hand before a deploy, as a release build (``release.build``):

1. the source of ``VERSION`` into OUTPUT: ``git archive VERSION`` when the project is a git
   repository and ``--git`` is given, the output of ``--source-command CMD`` (run as ``CMD
   VERSION OUTPUT``), or a copy of the project directory;
2. a virtualenv of its own, ``OUTPUT/.venv``, with the project's requirements: installed once
   per digest of the requirements file (and Python) into ``--cache``, then hard-linked into
   each release's site-packages — a release whose requirements did not change costs links,
   not an install; with no cache, installed straight into the release;
3. ``manage.py collectstatic --noinput`` into the release (``STATIC_ROOT`` inside it), with the
   release's own Python.

Instances then run ``.venv/bin/python -m gunicorn …`` from the release directory; nothing of
one release is shared with another but the cache's files, which nobody writes after they are
made. Standard library only; every program runs without a shell.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SKIP = (".git", ".venv", "__pycache__", "staticfiles", "media", ".slipway", "node_modules")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m slipway.presets.django_build")
    parser.add_argument("version")
    parser.add_argument("output", type=Path)
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="where manage.py is")
    parser.add_argument("--requirements", default="requirements.txt")
    parser.add_argument("--git", action="store_true", help="the source is `git archive VERSION`")
    parser.add_argument("--source-command", help="writes the source: CMD VERSION OUTPUT")
    parser.add_argument("--cache", type=Path, help="installed requirements, by digest")
    args = parser.parse_args(argv)
    try:
        source(args)
        venv(args.output, args.output / args.requirements, args.cache)
        run([str(python_of(args.output)), "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=args.output)  # fmt: skip
    except BuildFailed as exc:
        print(f"django_build: {exc}", file=sys.stderr)
        return 1
    return 0


class BuildFailed(Exception):
    pass


def run(argv: list[str], *, cwd: Path, stdout: int | None = None) -> bytes:
    done = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).decode(errors="replace").strip()[-1500:]
        raise BuildFailed(f"{shlex.join(argv)} exited {done.returncode}: {tail}")
    return done.stdout


def source(args: argparse.Namespace) -> None:
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    if args.source_command:
        run([*shlex.split(args.source_command), args.version, str(out)], cwd=args.project)
    elif args.git:
        archive = run(["git", "archive", "--format=tar", args.version], cwd=args.project)
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    else:
        shutil.copytree(args.project, out, dirs_exist_ok=True, symlinks=True,
                        ignore=shutil.ignore_patterns(*SKIP))  # fmt: skip
    if not (out / "manage.py").is_file():
        raise BuildFailed(f"the source of {args.version} has no manage.py")


def python_of(release: Path) -> Path:
    return release / ".venv" / "bin" / "python"


def site_packages(release: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return release / ".venv" / "lib" / version / "site-packages"


def venv(release: Path, requirements: Path, cache: Path | None) -> None:
    if not requirements.is_file():
        raise BuildFailed(f"no {requirements.name} in the release")
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", "--without-pip", str(release / ".venv")], cwd=release)
    target = site_packages(release)
    if cache is None:
        install(requirements, target)
        return
    key = hashlib.sha256(
        requirements.read_bytes() + sysconfig.get_platform().encode() + sys.version.encode()
    ).hexdigest()[:24]
    packages = cache / key
    if not packages.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=cache))
        install(requirements, work / "site")
        with contextlib.suppress(OSError):  # another build made it meanwhile: use that one
            os.rename(work / "site", packages)  # whole, or not at all
        shutil.rmtree(work, ignore_errors=True)

    def scripts(directory: str, names: list[str]) -> list[str]:  # pip's bin/, at the top only
        return ["bin"] if Path(directory) == packages else []

    shutil.copytree(packages, target, dirs_exist_ok=True, copy_function=os.link, ignore=scripts)


def install(requirements: Path, target: Path) -> None:
    """``pip install --target``: packages only (instances run ``python -m gunicorn``, ``-m
    celery``), so the files do not depend on where the release lives."""
    run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-compile", "--target", str(target), "-r", str(requirements)],
        cwd=requirements.parent)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
