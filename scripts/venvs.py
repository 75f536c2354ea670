"""Building this checkout's virtualenvs: the project's (.venv) and the stack's (.venvs/).

    python3 -m scripts.venvs VENV REQUIREMENTS [-c CONSTRAINTS] [--log FILE]

Packages are installed with uv, a pinned release bootstrapped with pip into .venvs/tools.
On a fresh machine it installs LocalStack's 110 packages in about 10 s, where pip took
70 s, and the same versions (pinned by the requirements and constraints files). If uv
cannot be installed, pip does the work as before, only slower. Standard library only:
the launcher runs this before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from scripts.processes import REPO_ROOT

VENVS_DIR = REPO_ROOT / ".venvs"
TOOLS_VENV = VENVS_DIR / "tools"
UV_VERSION = "0.13.9"


class InstallError(RuntimeError):
    pass


def base_python() -> str:
    return os.environ.get("PYTHON") or sys.executable


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """`make -j` builds .venv and the stack's virtualenvs at once: one builder of each."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _quiet(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def uv() -> Path | None:
    """The pinned uv, installed on first use; None when it cannot be installed."""
    binary = TOOLS_VENV / "bin" / "uv"
    with _locked(VENVS_DIR / "tools.lock"):
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False
        ) if binary.exists() else None  # fmt: skip
        if version and version.stdout.split()[1:2] == [UV_VERSION]:
            return binary
        python = str(TOOLS_VENV / "bin" / "python")
        if not (
            _quiet([base_python(), "-m", "venv", "--clear", str(TOOLS_VENV)])
            and _quiet([python, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"])
        ):
            print(f"venvs: warning: uv {UV_VERSION} not installed; pip builds", file=sys.stderr)
            return None
        return binary


def install(
    venv: Path, requirements: Path, *, constraints: Path | None = None, log: Path | None = None
) -> None:
    """Create `venv` if it is missing and install `requirements` into it."""
    python = venv / "bin" / "python"
    tool = uv()
    if tool is not None:
        create = [str(tool), "venv", "--quiet", "--seed", "--python", base_python(), str(venv)]
        # Compiled now, as pip does: with PYTHONDONTWRITEBYTECODE set (it is on these
        # machines) every process would compile every module it imports, every time.
        pip = [str(tool), "pip", "install", "--compile-bytecode", "--python", str(python)]
    else:
        create = [base_python(), "-m", "venv", str(venv)]
        pip = [str(python), "-m", "pip", "install", "--no-input"]
    pip += ["-r", str(requirements)] + (["-c", str(constraints)] if constraints else [])
    with _locked(VENVS_DIR / "locks" / f"{venv.resolve().name}.lock"):
        if not python.exists():
            subprocess.run(create, check=True, capture_output=True)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(log.open("wb")) if log else None
            done = subprocess.run(pip, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode:
            where = f" ({log})" if log else ""
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log else ""
            raise InstallError(f"installing {requirements} into {venv} failed{where}\n{tail}")


STAMP = ".requirements-sha256"


def install_exact(venv: Path, requirements: Path, *, log: Path | None = None) -> bool:
    """Make `venv` hold exactly the pinned `requirements`; True when it had to be rebuilt.

    An install on top of an older set would keep packages the new set dropped, so a changed
    file rebuilds the virtualenv from nothing. The file's sha256 is kept in the virtualenv.
    """
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / STAMP
    if (venv / "bin" / "python").exists() and stamp.exists() and stamp.read_text() == digest:
        return False
    shutil.rmtree(venv, ignore_errors=True)
    install(venv, requirements, log=log)
    stamp.write_text(digest)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path)
    parser.add_argument("requirements", type=Path)
    parser.add_argument("-c", "--constraints", type=Path)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    try:
        install(args.venv, args.requirements, constraints=args.constraints, log=args.log)
    except (InstallError, subprocess.CalledProcessError) as error:
        print(f"venvs: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
