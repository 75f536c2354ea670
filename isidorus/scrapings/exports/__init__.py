"""A whole job out in one response: JSONL, CSV or a zip of Markdown files (see formats.py)."""
