"""Every job-state Lua script, loaded from lua/ beside this module, prefixed with the
codes prelude (codes.py), registered once per process and run on the current client."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from redis.commands.core import Script

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.codes import lua_prelude
from isidorus.job_state.items import LUA_ITEM_PREFIXES

LUA_DIR = Path(__file__).resolve().parent / "lua"


@cache
def source(name: str) -> str:
    return lua_prelude(LUA_ITEM_PREFIXES) + (LUA_DIR / f"{name}.lua").read_text()


@cache
def _registered(name: str) -> Script:
    return get_redis().register_script(source(name))


def run(name: str, keys: list[str], args: list[Any]) -> Any:
    """Run lua/<name>.lua (EVALSHA, loading it on a miss)."""
    # Bound to the current client on every call: tests (and settings) may switch servers.
    return _registered(name)(keys=keys, args=args, client=get_redis())
