"""One canonical spelling of percent-encoding, shared by URL and robots.txt matching."""

from __future__ import annotations

import re
from functools import lru_cache

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")


@lru_cache(maxsize=16)
def _needs_work(safe: str) -> re.Pattern[str]:
    allowed = "A-Za-z0-9" + re.escape("-._~" + safe)
    return re.compile(f"[^{allowed}]|%")


def normalize_percent_encoding(text: str, *, safe: str) -> str:
    """Return `text` with percent-encoding in its one canonical form (RFC 3986 section 6.2.2.2).

    Escapes of unreserved characters are decoded, other escapes get uppercase hex, a `%`
    that starts no valid escape becomes `%25`, and every character that is neither
    unreserved nor in `safe` is encoded as UTF-8. The result is stable: normalising it
    again changes nothing.
    """
    if not _needs_work(safe).search(text):
        return text
    out: list[str] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "%":
            escape = text[index + 1 : index + 3]
            if len(escape) == 2 and escape[0] in _HEX_DIGITS and escape[1] in _HEX_DIGITS:
                decoded = chr(int(escape, 16))
                out.append(decoded if decoded in UNRESERVED else "%" + escape.upper())
                index += 3
                continue
            out.append("%25")
        elif char in UNRESERVED or char in safe:
            out.append(char)
        else:
            # surrogatepass: a lone surrogate must be encoded, not crash the caller.
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        index += 1
    return "".join(out)
