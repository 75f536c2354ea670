"""The packages import one another in one direction only (no cycles): each may import the
packages in the layers below it, never above. `config` (settings, queues, the Celery app,
the URL conf) is the project itself and is left out."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Lowest first. Packages in one layer do not import each other.
LAYERS: list[set[str]] = [
    {"isidorus.crawling"},
    {"isidorus.integrations"},
    {"isidorus.job_state", "isidorus.contracts"},
    {"isidorus.publishing", "isidorus.core"},
    {"isidorus.accounts"},
    {"isidorus.scrapings"},
    {"isidorus.enrichment"},
    {"isidorus.maintenance", "isidorus.dashboard"},
    {"tasks"},
]
LAYER_OF = {package: index for index, layer in enumerate(LAYERS) for package in layer}


def _package(module: str) -> str:
    parts = module.split(".")
    return f"isidorus.{parts[1]}" if parts[0] == "isidorus" and len(parts) > 1 else parts[0]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "isidorus":
                found |= {f"isidorus.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {_package(name) for name in found if name.split(".")[0] in ("isidorus", "tasks")}


def _modules() -> list[Path]:
    paths = [*(REPO_ROOT / "isidorus").rglob("*.py"), *(REPO_ROOT / "tasks").rglob("*.py")]
    return [path for path in paths if "migrations" not in path.parts]


def test_every_package_has_a_layer() -> None:
    packages = {
        _package(".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)) for p in _modules()
    }
    assert packages - {"isidorus.__init__"} == set(LAYER_OF)


def test_no_package_imports_a_package_above_or_beside_it() -> None:
    upward: list[str] = []
    for path in _modules():
        source = _package(".".join(path.relative_to(REPO_ROOT).with_suffix("").parts))
        if source not in LAYER_OF:
            continue
        for target in _imports(path) - {source}:
            if LAYER_OF[target] >= LAYER_OF[source]:
                upward.append(f"{path.relative_to(REPO_ROOT)} imports {target}")
    assert upward == []
