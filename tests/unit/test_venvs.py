"""Virtualenvs are built with the pinned uv; a failed install names its log and shows why.
(The real installs, the project's and the stack's, are what every `make test` starts with.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import venvs


def test_an_install_creates_the_virtualenv_with_the_pinned_uv(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    log = tmp_path / "install.log"
    venvs.install(tmp_path / "venv", requirements, log=log)
    assert (tmp_path / "venv" / "bin" / "python").exists()
    assert (tmp_path / "venv" / "bin" / "pip").exists()  # seeded: users' pip keeps working
    tool = venvs.uv()
    assert tool is not None
    assert tool.is_relative_to(venvs.TOOLS_VENV)


def test_a_failed_install_raises_with_the_log_tail(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{tmp_path / 'no-such-package-dir'}\n")
    log = tmp_path / "install.log"
    with pytest.raises(venvs.InstallError, match="no-such-package-dir") as failed:
        venvs.install(tmp_path / "venv", requirements, log=log)
    assert str(log) in str(failed.value)


def test_an_exact_install_rebuilds_only_when_the_pins_change(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# first set\n")
    assert venvs.install_exact(venv, requirements) is True
    leftover = venv / "left-by-the-old-set"
    leftover.write_text("")
    assert venvs.install_exact(venv, requirements) is False
    assert leftover.exists()  # unchanged pins: the virtualenv is kept as it is

    requirements.write_text("# second set\n")
    assert venvs.install_exact(venv, requirements) is True
    assert not leftover.exists()  # changed pins: built again from nothing
    assert (venv / "bin" / "python").exists()


def test_the_scrapy_bench_pins_every_package() -> None:
    pins = (venvs.REPO_ROOT / "bench" / "requirements-scrapy.txt").read_text().splitlines()
    packages = [line for line in pins if line and not line.startswith("#")]
    assert "Scrapy==2.19.0" in packages
    assert {"Twisted", "lxml", "parsel"} <= {line.split("==")[0] for line in packages}
    assert all("==" in line for line in packages), [p for p in packages if "==" not in p]
