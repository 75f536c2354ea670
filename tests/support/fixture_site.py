"""The standard fixture site of the crawl tests (see tests/e2e/test_crawl.py)."""

from __future__ import annotations

from tests.support.site import Route, html, redirect

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fixture_routes(external_origin: str) -> dict[str, Route]:
    return {
        "/robots.txt": Route(
            body="User-agent: *\nDisallow: /private/\n", content_type="text/plain"
        ),
        "/": Route(
            body=html(
                "Home",
                f"""
                <h1>Welcome home</h1><p>Lighthouse keepers keep the lighthouse.</p>
                <a href="/a.html">A</a> <a href="b.html#section">B</a>
                <a href="/rel/">relative</a>
                <a href="/page?b=2&a=1#frag">page</a>
                <a href="/page?a=1&b=2&utm_source=news">same page</a>
                <a href="/redirect-start">redirect</a> <a href="/loop1">loop</a>
                <a href="/missing">missing</a> <a href="/error">error</a>
                <a href="/doc.pdf">pdf</a> <a href="/private/secret.html">private</a>
                <a href="/shortcut.html">shortcut</a>
                <a href="{external_origin}/outside.html">external</a>
                <a href="mailto:someone@example.com">mail</a> <a href="javascript:void(0)">js</a>
                <a href="/a.html" rel="nofollow">A again</a>
                """,
            )
        ),
        "/a.html": Route(body=html("Page A", '<p>Alpha page.</p><a href="/b.html">to B</a>')),
        "/b.html": Route(body=html("Page B", '<p>Beta page.</p><a href="/a.html">to A</a>')),
        "/rel/": Route(
            body=html(
                "Relative",
                '<a href="level2.html">level 2</a>',
                head='<base href="/deep/">',
            )
        ),
        "/deep/level2.html": Route(
            body=html("Level 2", '<a href="level3.html">3</a> <a href="/shortcut.html">short</a>')
        ),
        "/deep/level3.html": Route(body=html("Level 3", "<p>deepest page</p>")),
        "/shortcut.html": Route(
            body=html(
                "Shortcut", '<p>reachable two ways</p><a href="/after-shortcut.html">next</a>'
            )
        ),
        "/after-shortcut.html": Route(body=html("After shortcut", "<p>two hops</p>")),
        "/page?a=1&b=2": Route(body=html("Query page", "<p>query variants</p>")),
        "/redirect-start": redirect("/redirect-middle"),
        "/redirect-middle": redirect("/redirect-end", status=301),
        "/redirect-end": Route(body=html("Redirected", "<p>end of the chain</p>")),
        "/loop1": redirect("/loop2"),
        "/loop2": redirect("/loop1"),
        "/error": Route(status=500, body=html("Error", "<p>boom</p>")),
        "/doc.pdf": Route(body=PDF, content_type="application/pdf"),
        "/private/secret.html": Route(body=html("Secret", "<p>never fetched</p>")),
    }
