"""A JSON parser that answers 400, not 500, to bodies Python's json module chokes on."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json raises RecursionError on deeply nested input, and DRF does not catch it.
            raise ParseError("JSON nested too deeply") from None
