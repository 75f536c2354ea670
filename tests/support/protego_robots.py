"""Protego behind the interface of `isidorus.crawling.robots`, to judge it by the same tests.

The adapter only maps the interface: it passes our product token (not the full User-Agent
header) to Protego, applies the same size bound and the same policy per fetch status, and
leaves every rule of robots.txt itself to Protego. See docs/robots.md for the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego

from isidorus.crawling.robots import MAX_ROBOTS_BYTES, _bounded, _product_token

__all__ = ["MAX_ROBOTS_BYTES", "RobotsRule", "RobotsRules", "rules_for_status"]


@dataclass(frozen=True)
class RobotsRule:
    allow: bool
    pattern: str

    def matches(self, path: str) -> bool:
        """Whether Protego's matcher applies `pattern` to `path` (as a lone Disallow)."""
        parser = Protego.parse(f"User-agent: *\nDisallow: {self.pattern}\n")
        return not parser.can_fetch(path, "*")


@dataclass(frozen=True)
class RobotsRules:
    parser: Protego | None = field(default=None, compare=False)
    token: str = "*"

    @classmethod
    def allow_all(cls) -> RobotsRules:
        return cls()

    @classmethod
    def disallow_all(cls) -> RobotsRules:
        return cls(parser=Protego.parse("User-agent: *\nDisallow: /\n"))

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        # Protego matches a group name anywhere in what it is given at a word boundary, so
        # the full header "IsidorusBot/1.0 (+https://isidorus.example/bot)" would also
        # select a `User-agent: bot` group; the product token alone is the fair input.
        return cls(parser=Protego.parse(_bounded(text)), token=_product_token(user_agent))

    @property
    def crawl_delay(self) -> float | None:
        return None if self.parser is None else self.parser.crawl_delay(self.token)

    def allows(self, url_or_path: str) -> bool:
        return self.parser is None or self.parser.can_fetch(url_or_path, self.token)


def rules_for_status(status: int, text: str, user_agent: str) -> RobotsRules:
    if 200 <= status < 300:
        return RobotsRules.parse(text, user_agent)
    if 300 <= status < 500 and status != 429:
        return RobotsRules.allow_all()
    return RobotsRules.disallow_all()
