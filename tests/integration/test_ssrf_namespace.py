"""Issue 16: IPv6 addresses that embed a non-public IPv4 address, tried with the real
fetcher and LLM client inside a network namespace that has only loopback.

There, a connection to any of these addresses could only fail ("network unreachable"),
so a pass needs the policy's own refusal (`blocked_address`) and no connect() to the
address at all (an audit hook in the probe records every connect). The namespace comes
from `unshare -n`, which needs root: without it this test fails, it does not skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.support.workers import REPO_ROOT

EMBEDDED = [
    "64:ff9b::7f00:1",  # NAT64 well-known prefix, 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64, 169.254.169.254
    "64:ff9b::a00:1",  # NAT64, 10.0.0.1
    "64:ff9b::c0a8:101",  # NAT64, 192.168.1.1
    "64:ff9b:1::a00:1",  # NAT64 local-use prefix
    "2002:7f00:1::1",  # 6to4, 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4, 169.254.169.254
    "::7f00:1",  # IPv4-compatible, 127.0.0.1
    "::ffff:0:7f00:1",  # IPv4-translated, 127.0.0.1
    "::ffff:a9fe:a9fe",  # IPv4-mapped, 169.254.169.254
    "2001:0:a00:1::f7f7:f7f7",  # Teredo, server 10.0.0.1
    "2001:0:808:808::80ff:fffe",  # Teredo, client 127.0.0.1
    "2606:4700::5efe:7f00:1",  # ISATAP interface id, 127.0.0.1
    "2606:4700::200:5efe:a9fe:a9fe",  # ISATAP interface id (u bit), 169.254.169.254
]
LOOPBACK = "127.0.0.1"


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        # What the tests allow: loopback must not open addresses that embed it.
        "ISIDORUS_ALLOWED_NETWORKS": "127.0.0.0/8",
        "ISIDORUS_LLM_ALLOWED_NETWORKS": "",
    }
    command = ["unshare", "--net", sys.executable, "-m", "tests.support.ssrf_probe", *EMBEDDED]
    run = subprocess.run(
        command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, f"the probe failed (unshare needs root):\n{run.stderr}"
    report: dict[str, Any] = json.loads(run.stdout)
    return report


def test_the_probe_runs_with_loopback_only_and_sees_connections(probe: dict[str, Any]) -> None:
    assert probe["interfaces"] == ["lo"]
    control = probe["control"]
    assert control["reason"].startswith("fetched/")
    assert control["connected_to"] == [LOOPBACK]


@pytest.mark.parametrize("address", EMBEDDED)
def test_a_page_url_is_refused_before_connecting(probe: dict[str, Any], address: str) -> None:
    outcome = probe["cases"][address]["direct"]
    assert outcome == {
        "reason": f"failed/blocked_address@http://[{address}]/",
        "connected_to": [],
    }


@pytest.mark.parametrize("address", EMBEDDED)
def test_a_redirect_target_is_refused_before_connecting(
    probe: dict[str, Any], address: str
) -> None:
    outcome = probe["cases"][address]["redirect"]
    assert outcome["reason"] == f"failed/blocked_address@http://[{address}]/"
    assert set(outcome["connected_to"]) <= {LOOPBACK}
    assert f"/to/{address}" in probe["site_served"]


@pytest.mark.parametrize("address", EMBEDDED)
def test_robots_txt_is_not_fetched_from_it(probe: dict[str, Any], address: str) -> None:
    # robots.txt keeps no failure reason (unreachable reads as 503, disallow all).
    assert probe["cases"][address]["robots"] == {"reason": "503", "connected_to": []}


@pytest.mark.parametrize("address", EMBEDDED)
def test_an_llm_base_url_and_an_llm_redirect_are_refused_before_connecting(
    probe: dict[str, Any], address: str
) -> None:
    case = probe["cases"][address]
    assert case["llm"] == {"reason": "blocked_address", "connected_to": []}
    assert case["llm_redirect"]["reason"] == "blocked_address"
    assert set(case["llm_redirect"]["connected_to"]) <= {LOOPBACK}


def test_every_llm_redirect_was_served_once(probe: dict[str, Any]) -> None:
    assert probe["llm_served"] == ["/v1/chat/completions"] * len(EMBEDDED)
