"""robots.txt rules as RFC 9309 defines them.

- The group for our product token (case-insensitive; the longest token that equals ours
  or is a `-` prefix of it, so `isidorusbot` also governs `isidorusbot-images`) wins over
  `*`; every group naming the chosen token is merged.
- Allow/Disallow: the longest matching pattern wins, Allow wins a tie; `*` matches any
  sequence and a final `$` anchors the end. Paths and patterns are compared after
  normalising percent-encoding. The query string is part of the matched path.
- `/robots.txt` itself is always allowed.
- `Sitemap:` lines belong to no group: every one is kept (`sitemaps`), up to
  MAX_SITEMAP_LINES, in order.
- Fetch status: 2xx parses, 3xx (redirects exhausted) and 4xx allow everything, 429, 5xx
  and anything else disallow everything (429 as 5xx, as Google does, to back off).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from isidorus.crawling.percent import normalize_percent_encoding
from isidorus.crawling.urls import split_url

MAX_ROBOTS_BYTES = 500 * 1024
MAX_SITEMAP_LINES = 50
ROBOTS_PATH = "/robots.txt"

_PATH_SAFE = "!$&'()*+,;=:@/?[]"
_PRODUCT_TOKEN = re.compile(r"[A-Za-z_-]+")
_USER_AGENT_KEYS = frozenset({"user-agent", "useragent", "user agent"})
_RULE_KEYS = {"allow": True, "disallow": False}
_CRAWL_DELAY_KEYS = frozenset({"crawl-delay", "crawldelay"})


@dataclass(frozen=True)
class RobotsRule:
    allow: bool
    pattern: str  # percent-normalised, including any wildcards and a final `$`

    @property
    def specificity(self) -> int:
        return len(self.pattern)

    def matches(self, path: str) -> bool:
        """Glob match without regular expressions, so hostile patterns stay linear-ish."""
        anchored = self.pattern.endswith("$")
        pieces = (self.pattern[:-1] if anchored else self.pattern).split("*")
        first, *middle_and_last = pieces
        if not middle_and_last:
            return path == first if anchored else path.startswith(first)
        if not path.startswith(first):
            return False
        *middle, last = middle_and_last
        position = len(first)
        for piece in middle:
            found = path.find(piece, position)
            if found < 0:
                return False
            position = found + len(piece)
        if anchored:
            return len(path) - len(last) >= position and path.endswith(last)
        return path.find(last, position) >= 0


@dataclass(frozen=True)
class RobotsRules:
    rules: tuple[RobotsRule, ...] = ()
    crawl_delay: float | None = None
    sitemaps: tuple[str, ...] = ()

    @classmethod
    def allow_all(cls) -> RobotsRules:
        return cls()

    @classmethod
    def disallow_all(cls) -> RobotsRules:
        return cls(rules=(RobotsRule(allow=False, pattern="/"),))

    @classmethod
    def parse(cls, text: str, user_agent: str) -> RobotsRules:
        """The rules of `text` that apply to `user_agent` (a full UA string or its token)."""
        bounded = _bounded(text)
        groups = _parse_groups(bounded)
        chosen = _groups_for(groups, _product_token(user_agent))
        rules = tuple(rule for group in chosen for rule in group.rules)
        delays = [group.crawl_delay for group in chosen if group.crawl_delay is not None]
        return cls(
            rules=rules,
            crawl_delay=delays[0] if delays else None,
            sitemaps=_sitemaps(bounded),
        )

    def allows(self, url_or_path: str) -> bool:
        path = _match_target(url_or_path)
        if path == ROBOTS_PATH:
            return True
        best: RobotsRule | None = None
        for rule in self.rules:
            if rule.matches(path) and (
                best is None
                or rule.specificity > best.specificity
                or (rule.specificity == best.specificity and rule.allow)
            ):
                best = rule
        return best is None or best.allow


def rules_for_status(status: int, text: str, user_agent: str) -> RobotsRules:
    """The rules implied by fetching robots.txt with HTTP `status` and body `text`."""
    if 200 <= status < 300:
        return RobotsRules.parse(text, user_agent)
    if 300 <= status < 500 and status != 429:
        return RobotsRules.allow_all()
    return RobotsRules.disallow_all()


@dataclass
class _Group:
    agents: list[str] = field(default_factory=list)
    rules: list[RobotsRule] = field(default_factory=list)
    crawl_delay: float | None = None


def _bounded(text: str) -> str:
    """The first MAX_ROBOTS_BYTES of `text`, without a line cut in half."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_ROBOTS_BYTES:
        return text
    head = encoded[:MAX_ROBOTS_BYTES].decode("utf-8", "ignore")
    return head[: max(head.rfind("\n"), head.rfind("\r"), 0)]


def _parse_groups(text: str) -> list[_Group]:
    groups: list[_Group] = []
    current: _Group | None = None
    reading_agents = False
    for raw_line in text.removeprefix("\ufeff").splitlines():
        key, separator, value = raw_line.partition("#")[0].partition(":")
        if not separator:
            continue
        key = key.strip().lower()
        value = value.strip()
        if key in _USER_AGENT_KEYS:
            if current is None or not reading_agents:
                current = _Group()
                groups.append(current)
            current.agents.append(value)
            reading_agents = True
            continue
        if key in _RULE_KEYS or key in _CRAWL_DELAY_KEYS:
            reading_agents = False
        if current is None:
            continue
        if key in _RULE_KEYS and value:  # an empty Disallow disallows nothing
            current.rules.append(RobotsRule(allow=_RULE_KEYS[key], pattern=_pattern(value)))
        elif key in _CRAWL_DELAY_KEYS and current.crawl_delay is None:
            current.crawl_delay = _crawl_delay(value)
    return groups


def _sitemaps(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for raw_line in text.removeprefix("\ufeff").splitlines():
        key, separator, value = raw_line.partition(":")
        if separator and key.strip().lower() == "sitemap" and value.strip():
            found.append(value.split()[0])  # a URL has no spaces: what follows is a comment
            if len(found) == MAX_SITEMAP_LINES:
                break
    return tuple(found)


def _groups_for(groups: list[_Group], token: str) -> list[_Group]:
    best_length = 0
    chosen: list[_Group] = []
    for group in groups:
        length = max((_agent_match_length(agent, token) for agent in group.agents), default=0)
        if length > best_length:
            best_length, chosen = length, [group]
        elif length == best_length and length > 0:
            chosen.append(group)
    if chosen:
        return chosen
    return [group for group in groups if any(agent == "*" for agent in group.agents)]


def _agent_match_length(agent: str, token: str) -> int:
    """How specifically a group's user-agent line names `token`: 0 when it does not."""
    agent_token = _product_token(agent)
    if not agent_token or not token:
        return 0
    if token == agent_token or token.startswith(agent_token + "-"):
        return len(agent_token)
    return 0


def _product_token(user_agent: str) -> str:
    match = _PRODUCT_TOKEN.match(user_agent.strip())
    return match.group(0).lower() if match else ""


def _pattern(value: str) -> str:
    if not value.startswith(("/", "*")):
        value = "/" + value
    return normalize_percent_encoding(value, safe=_PATH_SAFE)


def _crawl_delay(value: str) -> float | None:
    try:
        delay = float(value)
    except ValueError:
        return None
    return delay if math.isfinite(delay) and delay >= 0 else None


def _match_target(url_or_path: str) -> str:
    """The path and query of a URL (or of a bare path), percent-normalised."""
    if url_or_path.startswith("/"):
        target = url_or_path.partition("#")[0]
    else:
        try:
            parts = split_url(url_or_path)
        except ValueError:
            return "/"
        if parts.scheme or parts.netloc:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            target = "/" + url_or_path.partition("#")[0]
    if not target.startswith("/"):
        target = "/" + target
    return normalize_percent_encoding(target, safe=_PATH_SAFE)
