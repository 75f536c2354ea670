"""The demo site `make run` crawls: every link and picture it shows is served."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path
from types import ModuleType

from PIL import Image

DEMO_SITE = Path(__file__).resolve().parents[2] / "scripts" / "demo_site.py"


def _demo_site() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_site", DEMO_SITE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_link_and_picture_of_the_demo_site_is_served() -> None:
    pages = _demo_site().site()
    targets = {
        target
        for content_type, body in pages.values()
        if content_type.startswith("text/html")
        for target in re.findall(r'(?:href|src)="([^"]+)"', body.decode())
    }
    assert targets <= set(pages)
    pictures = sorted(target for target in targets if target.endswith(".png"))
    assert len(pictures) == 8
    for path in pictures:
        content_type, body = pages[path]
        assert content_type == "image/png"
        with Image.open(io.BytesIO(body)) as image:
            image.load()
            assert image.size == (160, 160)
