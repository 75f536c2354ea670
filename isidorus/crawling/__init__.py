"""Pure crawling logic: URL canonicalisation, scope, robots.txt, HTML parsing, term counts.

Nothing in this package touches Django, the network, AWS or Redis, so every decision it
makes can be tested exhaustively and cheaply.
"""
