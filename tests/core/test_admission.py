"""Every code of job_state's admission script, and the Redis state each one leaves: the
seen hash, the open items and their payloads, the max_pages budget and the daily quota.
Real Redis; the job is only its Redis state."""

from __future__ import annotations

import re
from typing import Any

import pytest

from isidorus import job_state
from isidorus.job_state import Candidate, DuplicateTally
from isidorus.job_state.codes import lua_prelude
from isidorus.job_state.items import LUA_ITEM_PREFIXES
from isidorus.job_state.scripts import LUA_DIR, source

QUOTA_KEY = "quota:{core-tests}"
PARENT_URL = "http://example.com/parent"
OTHER_URL = "http://example.com/other"


def key(job_id: str, name: str) -> str:
    return f"job:{{{job_id}}}:{name}"


def link(name: str, depth: int = 1, *, parent: str = "parent", fetch: bool = True) -> Candidate:
    """A link to http://example.com/<name>, found on the page `parent` (fingerprints are
    the names: the script only compares them)."""
    return Candidate(
        fingerprint=name,
        depth=depth,
        fetch=fetch,
        url=f"http://example.com/{name}",
        parent_url=f"http://example.com/{parent}" if parent else "",
        parent_fingerprint=parent,
    )


def admit(
    job_id: str,
    *candidates: Candidate,
    max_pages: int = 100,
    quota_limit: int = 1000,
    max_depth: int = 3,
) -> list[str]:
    return job_state.admit(
        job_id=job_id,
        candidates=list(candidates),
        max_pages=max_pages,
        quota_key=QUOTA_KEY,
        quota_limit=quota_limit,
        quota_ttl=3600,
        max_depth=max_depth,
    )


def seen(redis: Any, job_id: str, fingerprint: str) -> str | None:
    value = redis.hget(key(job_id, "seen"), fingerprint)
    return None if value is None else str(value)


def budget(redis: Any, job_id: str) -> int:
    return int(redis.get(key(job_id, "budget")) or 0)


def quota(redis: Any) -> int:
    return int(redis.get(QUOTA_KEY) or 0)


def test_a_new_link_is_admitted_charged_once_and_opened_with_its_parent(
    job_id: str, redis_clean: Any
) -> None:
    assert admit(job_id, link("a", 2)) == [job_state.Code.ADMITTED]
    assert seen(redis_clean, job_id, "a") == "2"
    assert job_state.open_items(job_id) == {
        "page:a": {"by": "parent", "d": 2, "p": PARENT_URL, "u": "http://example.com/a"}
    }
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (1, 1)
    assert 3500 < redis_clean.ttl(QUOTA_KEY) <= 3600


def test_a_start_url_is_admitted_without_a_parent_marker(job_id: str) -> None:
    assert admit(job_id, link("start", 0, parent="")) == [job_state.Code.ADMITTED]
    assert job_state.open_items(job_id)["page:start"] == {
        "d": 0,
        "p": "",
        "u": "http://example.com/start",
    }


def test_a_url_needing_json_escapes_keeps_its_exact_text_in_the_open_payload(
    job_id: str,
) -> None:
    url = 'http://example.com/caf\u00e9?q="x"\\y'
    candidate = Candidate(
        "odd", 1, True, url, parent_url="http://example.com/\u00fc", parent_fingerprint="p"
    )
    assert admit(job_id, candidate) == [job_state.Code.ADMITTED]
    payload = job_state.open_items(job_id)["page:odd"]
    assert (payload["u"], payload["p"]) == (url, "http://example.com/\u00fc")


def test_the_same_url_from_another_parent_is_a_duplicate_and_changes_nothing(
    job_id: str, redis_clean: Any
) -> None:
    admit(job_id, link("a", 1))
    before = job_state.open_items(job_id)
    assert admit(job_id, link("a", 1, parent="other")) == [job_state.Code.DUPLICATE]
    assert admit(job_id, link("a", 2, parent="other")) == [job_state.Code.DUPLICATE]  # longer
    assert job_state.open_items(job_id) == before
    assert seen(redis_clean, job_id, "a") == "1"
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (1, 1)


def test_one_batch_sees_its_own_earlier_offers_of_a_url(job_id: str, redis_clean: Any) -> None:
    codes = admit(
        job_id,
        link("a", 2),
        link("a", 2, parent="other"),
        link("a", 1, parent="third"),  # shorter than the first offer, in the same batch
        link("s", fetch=False),
        link("s", parent="other", fetch=False),
        max_depth=1,
    )
    Code = job_state.Code
    assert codes == [Code.ADMITTED, Code.DUPLICATE, Code.SHORTER, Code.NEW_SKIP, Code.DUPLICATE]
    assert seen(redis_clean, job_id, "a") == "1"
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (1, 1)


def test_a_batch_larger_than_one_membership_read_is_admitted_whole(
    job_id: str, redis_clean: Any
) -> None:
    def offer(*candidates: Candidate) -> list[str]:
        return admit(job_id, *candidates, max_pages=20_000, quota_limit=20_000)

    offer(*(link(f"old{n}") for n in range(0, 9000, 3)))
    codes = offer(*(link(f"old{n}", parent="p2") for n in range(9000)))
    Code = job_state.Code
    assert codes == [Code.DUPLICATE if n % 3 == 0 else Code.ADMITTED for n in range(9000)]
    assert budget(redis_clean, job_id) == 9000


def test_a_parent_offering_its_own_open_child_again_republishes_it_uncharged(
    job_id: str, redis_clean: Any
) -> None:
    """A scrape redelivered after a crash gets R for what it admitted, so it publishes it."""
    admit(job_id, link("a"), link("b"))
    assert admit(job_id, link("a"), link("b")) == [
        job_state.Code.REPUBLISH,
        job_state.Code.REPUBLISH,
    ]
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (2, 2)
    assert set(job_state.open_items(job_id)) == {"page:a", "page:b"}


def test_a_parents_child_written_and_closed_is_a_duplicate_on_redelivery(job_id: str) -> None:
    admit(job_id, link("a"))
    job_state.close(job_id=job_id, items=["page:a"])
    assert admit(job_id, link("a")) == [job_state.Code.DUPLICATE]
    assert job_state.open_items(job_id) == {}


def test_a_shorter_path_at_the_depth_limit_only_shortens_the_open_page(
    job_id: str, redis_clean: Any
) -> None:
    admit(job_id, link("a", 3), max_depth=2)
    codes = admit(job_id, link("a", 2, parent="other"), max_depth=2)
    assert codes == [job_state.Code.SHORTER]
    assert seen(redis_clean, job_id, "a") == "2"
    # The open payload is rewritten: the scraper will fetch the page at its new depth.
    assert job_state.open_items(job_id) == {
        "page:a": {"by": "other", "d": 2, "p": OTHER_URL, "u": "http://example.com/a"}
    }
    assert budget(redis_clean, job_id) == 1


def test_a_shorter_path_to_a_written_page_does_not_reopen_it(job_id: str, redis_clean: Any) -> None:
    admit(job_id, link("a", 3), max_depth=2)
    job_state.close(job_id=job_id, items=["page:a"])
    assert admit(job_id, link("a", 2, parent="other"), max_depth=2) == [job_state.Code.SHORTER]
    assert seen(redis_clean, job_id, "a") == "2"
    assert job_state.open_items(job_id) == {}


def test_a_shorter_path_within_the_depth_limit_opens_an_expand_item(
    job_id: str, redis_clean: Any
) -> None:
    admit(job_id, link("a", 3))
    job_state.close(job_id=job_id, items=["page:a"])
    assert admit(job_id, link("a", 1, parent="other")) == [job_state.Code.EXPAND]
    assert seen(redis_clean, job_id, "a") == "1"
    assert job_state.open_items(job_id) == {
        "expand:a:1": {"by": "other", "d": 1, "p": OTHER_URL, "u": "http://example.com/a"}
    }
    assert budget(redis_clean, job_id) == 1  # an expand is not another page


def test_a_parent_offering_again_the_link_it_expanded_republishes_the_expand(
    job_id: str, redis_clean: Any
) -> None:
    admit(job_id, link("a", 3))
    job_state.close(job_id=job_id, items=["page:a"])
    admit(job_id, link("a", 1, parent="other"))
    assert admit(job_id, link("a", 1, parent="other")) == [job_state.Code.REPUBLISH_EXPAND]
    assert set(job_state.open_items(job_id)) == {"expand:a:1"}
    # Once the expand has closed, the same offer is a plain duplicate.
    job_state.close(job_id=job_id, items=["expand:a:1"])
    assert admit(job_id, link("a", 1, parent="other")) == [job_state.Code.DUPLICATE]


def test_past_max_pages_a_link_is_refused_and_refused_again_for_the_same_parent_only(
    job_id: str, redis_clean: Any
) -> None:
    assert admit(job_id, link("a"), link("b"), max_pages=1) == [
        job_state.Code.ADMITTED,
        job_state.Code.LIMIT,
    ]
    assert seen(redis_clean, job_id, "b") == job_state.Seen.REFUSED + "parent"
    assert set(job_state.open_items(job_id)) == {"page:a"}
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (1, 1)
    # The parent's redelivery records the refusal again (its skipped row is upserted once).
    assert admit(job_id, link("b"), max_pages=1) == [job_state.Code.LIMIT]
    assert admit(job_id, link("b", parent="other"), max_pages=1) == [job_state.Code.DUPLICATE]
    # A larger max_pages later does not admit a URL already refused.
    assert admit(job_id, link("b", parent="other"), max_pages=10) == [job_state.Code.DUPLICATE]


def test_past_the_owners_daily_quota_a_link_is_refused_without_charging_the_budget(
    job_id: str, redis_clean: Any
) -> None:
    redis_clean.set(QUOTA_KEY, 5)
    assert admit(job_id, link("a"), quota_limit=5) == [job_state.Code.QUOTA]
    assert seen(redis_clean, job_id, "a") == job_state.Seen.QUOTA + "parent"
    assert job_state.open_items(job_id) == {}
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (0, 5)
    assert admit(job_id, link("a"), quota_limit=5) == [job_state.Code.QUOTA]
    assert admit(job_id, link("a", parent="other"), quota_limit=5) == [job_state.Code.DUPLICATE]


def test_the_quota_is_charged_across_jobs_and_refuses_the_first_link_past_it(
    job_id: str,
) -> None:
    other_job = "other-job"
    job_state.activate(other_job)
    assert admit(other_job, link("a"), quota_limit=2) == [job_state.Code.ADMITTED]
    assert admit(job_id, link("b"), link("c"), quota_limit=2) == [
        job_state.Code.ADMITTED,
        job_state.Code.QUOTA,
    ]


def test_max_pages_is_checked_before_the_quota(job_id: str, redis_clean: Any) -> None:
    redis_clean.set(QUOTA_KEY, 5)
    redis_clean.set(key(job_id, "budget"), 1)
    assert admit(job_id, link("b"), max_pages=1, quota_limit=5) == [job_state.Code.LIMIT]


def test_a_link_to_skip_is_recorded_once_and_again_for_the_same_parent(
    job_id: str, redis_clean: Any
) -> None:
    assert admit(job_id, link("out", fetch=False)) == [job_state.Code.NEW_SKIP]
    assert seen(redis_clean, job_id, "out") == job_state.Seen.SKIPPED + "parent"
    assert job_state.open_items(job_id) == {}
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (0, 0)
    assert admit(job_id, link("out", fetch=False)) == [job_state.Code.NEW_SKIP]
    assert admit(job_id, link("out", fetch=False, parent="other")) == [job_state.Code.DUPLICATE]
    # Nor is a URL recorded as skipped ever fetched through another link.
    assert admit(job_id, link("out", parent="other")) == [job_state.Code.DUPLICATE]


def test_a_link_to_skip_to_an_admitted_page_is_a_duplicate(job_id: str) -> None:
    admit(job_id, link("a"))
    assert admit(job_id, link("a", fetch=False, parent="other")) == [job_state.Code.DUPLICATE]
    assert set(job_state.open_items(job_id)) == {"page:a"}


def test_a_buried_job_admits_nothing_and_every_link_reads_as_a_duplicate(
    job_id: str, redis_clean: Any
) -> None:
    job_state.bury(job_id)
    admission = job_state.admit_counted(
        job_id=job_id,
        candidates=[link("a"), link("b", fetch=False)],
        tallies=[DuplicateTally("parent", "page:parent", 3)],
        max_pages=100,
        quota_key=QUOTA_KEY,
        quota_limit=1000,
        quota_ttl=3600,
        max_depth=3,
    )
    assert admission.codes == [job_state.Code.DUPLICATE, job_state.Code.DUPLICATE]
    assert admission.duplicates == {"page:parent": 0}
    assert redis_clean.hgetall(key(job_id, "seen")) == {}
    assert job_state.open_items(job_id) == {}
    assert (budget(redis_clean, job_id), quota(redis_clean)) == (0, 0)


def test_admission_for_a_job_whose_state_is_gone_raises_state_lost(redis_clean: Any) -> None:
    with pytest.raises(job_state.JobStateLost):
        admit("never-launched", link("a"))
    assert quota(redis_clean) == 0


def test_nothing_to_admit_needs_no_state(redis_clean: Any) -> None:
    assert admit("never-launched") == []


def counted(
    job_id: str, candidates: list[Candidate], tallies: list[DuplicateTally]
) -> job_state.Admission:
    return job_state.admit_counted(
        job_id=job_id,
        candidates=candidates,
        tallies=tallies,
        max_pages=100,
        quota_key=QUOTA_KEY,
        quota_limit=1000,
        quota_ttl=3600,
        max_depth=3,
    )


def test_a_parents_duplicates_are_its_d_s_e_x_codes_plus_the_repeats_dropped_before(
    job_id: str,
) -> None:
    admit(job_id, link("dup", 1, parent="other"))
    admit(job_id, link("shorter", 3, parent="other"), max_depth=1)
    admission = counted(
        job_id,
        [link("new"), link("dup"), link("shorter", 1), link("skip", fetch=False)],
        [DuplicateTally("parent", "page:parent", dropped=2)],
    )
    assert admission.codes == [
        job_state.Code.ADMITTED,
        job_state.Code.DUPLICATE,
        job_state.Code.EXPAND,
        job_state.Code.NEW_SKIP,
    ]
    assert admission.duplicates == {"page:parent": 2 + 2}


def test_a_parents_duplicate_count_is_pinned_while_its_item_is_open_then_cleared(
    job_id: str, redis_clean: Any
) -> None:
    job_state.open_new(job_id, {"page:parent": {"u": PARENT_URL, "d": 0}})
    admit(job_id, link("taken", parent="other"))
    first = counted(
        job_id, [link("a"), link("taken")], [DuplicateTally("parent", "page:parent", 0)]
    )
    assert first.duplicates == {"page:parent": 1}
    # Redelivered, with more links dropped before the script: the first count stands.
    again = counted(
        job_id, [link("a"), link("taken")], [DuplicateTally("parent", "page:parent", 5)]
    )
    assert again.codes == [job_state.Code.REPUBLISH, job_state.Code.DUPLICATE]
    assert again.duplicates == {"page:parent": 1}
    job_state.close(job_id=job_id, items=["page:parent"])
    assert redis_clean.hgetall(key(job_id, "dups")) == {}


def test_a_parent_admitting_for_the_first_time_reads_no_markers(
    job_id: str, redis_clean: Any
) -> None:
    """Only a parent whose item has a pinned count (it admitted before: a redelivery) can
    be the one a child's open payload names; a first admission's duplicates are plain."""
    tally = [DuplicateTally("parent", "page:parent", 0)]
    job_state.open_new(job_id, {"page:parent": {"u": PARENT_URL, "d": 0}})
    admit(job_id, link("a"))  # as if "parent" had admitted it, with no tally pinned
    assert counted(job_id, [link("a")], tally).codes == [job_state.Code.DUPLICATE]
    # Pinned now: the same parent offering it again is a redelivery.
    assert counted(job_id, [link("a")], tally).codes == [job_state.Code.REPUBLISH]


def test_links_offered_and_counted_before_count_no_duplicates(job_id: str) -> None:
    admit(job_id, link("taken", parent="other"))
    admission = counted(
        job_id,
        [link("taken")],
        [DuplicateTally("parent", "expand:parent:0", dropped=4, counted=False)],
    )
    assert admission.codes == [job_state.Code.DUPLICATE]
    assert admission.duplicates == {"expand:parent:0": 0}


def test_the_scripts_use_only_the_codes_defined_once_in_python() -> None:
    """The Lua reads its codes, seen markers, results and item prefixes from the prelude
    built from codes.py and items.py; no script spells one out as a literal."""
    prelude = lua_prelude(LUA_ITEM_PREFIXES)
    for code in job_state.Code:
        assert f"{code.name}='{code.value}'" in prelude
    for path in sorted(LUA_DIR.glob("*.lua")):
        text = path.read_text()
        assert not re.findall(r"code = '", text), path.name
        assert not re.findall(r"return \{'", text), path.name
        assert "'page:'" not in text, path.name
        assert "'expand:'" not in text, path.name
    admit = source("admit")
    used = set(re.findall(r"\bC\.([A-Z_]+)", admit))
    assert used == {code.name for code in job_state.Code}


def test_a_candidates_code_is_one_letter_so_the_script_returns_them_as_one_string() -> None:
    whole_call = {job_state.Code.BURIED, job_state.Code.LOST}
    assert all(len(code.value) == 1 for code in job_state.Code if code not in whole_call)


def _batch() -> tuple[list[Candidate], list[DuplicateTally]]:
    """Three parents whose links overlap (b's "x" is p1's first), a page that repeats a
    link at a shorter depth, and a parent with no links left after the repeats it dropped."""
    candidates = [
        link("x", 2, parent="p1"), link("y", 2, parent="p1"),
        link("z", 2, parent="p2"), link("x", 1, parent="p2"),
        link("s", 2, parent="p2", fetch=False),
        link("w", 2, parent="p3"), link("y", 2, parent="p3"),
    ]  # fmt: skip
    tallies = [
        DuplicateTally("p1", "page:p1", 0),
        DuplicateTally("p2", "page:p2", 1),
        DuplicateTally("p3", "page:p3", 0),
        DuplicateTally("p4", "page:p4", 3),
    ]
    return candidates, tallies


def test_a_batch_is_offered_in_parts_of_whole_parents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_state.admission, "CANDIDATES_PER_SCRIPT", 3)
    candidates, tallies = _batch()
    parts = job_state.admission.script_parts(candidates, tallies)
    assert [[c.parent_fingerprint for c in links] for links, _ in parts] == [
        ["p1", "p1"], ["p2", "p2", "p2"], ["p3", "p3"],
    ]  # fmt: skip
    assert [[t.item for t in pins] for _, pins in parts] == [
        ["page:p1", "page:p4"], ["page:p2"], ["page:p3"],
    ]  # fmt: skip
    # A parent larger than a part is never split.
    monkeypatch.setattr(job_state.admission, "CANDIDATES_PER_SCRIPT", 1)
    assert [len(links) for links, _ in job_state.admission.script_parts(*_batch())] == [2, 3, 2]
    # A parent whose links are not consecutive keeps the batch in one script.
    scattered = [link("a", parent="p1"), link("b", parent="p2"), link("c", parent="p1")]
    assert job_state.admission.script_parts(scattered, []) == [(scattered, [])]


def test_a_batch_in_parts_gets_the_codes_counts_and_state_of_one_script(
    redis_clean: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same batch, offered once in one script and once in parts of one parent each, with
    a budget that runs out in the last part: the same codes, duplicate counts and Redis
    state."""

    def offer(parts_of: int) -> tuple[Any, dict[str, Any]]:
        redis_clean.flushdb()
        job_state.activate("parts")
        admit("parts", link("y", 3, parent="other"))  # known at depth 3: shortened to 2
        monkeypatch.setattr(job_state.admission, "CANDIDATES_PER_SCRIPT", parts_of)
        admission = job_state.admit_counted(
            job_id="parts",
            candidates=_batch()[0],
            tallies=_batch()[1],
            max_pages=3,
            quota_key=QUOTA_KEY,
            quota_limit=1000,
            quota_ttl=3600,
            max_depth=3,
        )
        state = {name: redis_clean.hgetall(key("parts", name)) for name in ("seen", "open", "dups")}
        return admission, {**state, "budget": budget(redis_clean, "parts")}

    in_one, state_in_one = offer(1000)
    in_parts, state_in_parts = offer(1)
    assert in_parts == in_one
    assert state_in_parts == state_in_one
    # x, z admitted; y and x shortened (re-expanded); s skipped; w over the budget; y repeated.
    assert "".join(in_one.codes) == "AEAENLD"
    assert in_one.duplicates == {"page:p1": 1, "page:p2": 2, "page:p3": 1, "page:p4": 3}
