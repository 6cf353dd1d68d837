"""Shared by the benchmark scripts: rewrite their own marked section of a document."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(doc: Path, start: str, end: str, block: str, default: str = "") -> None:
    """Replace the text between ``start`` and ``end`` in ``doc`` by ``block`` (which holds
    both markers), or append ``block`` when the document has no such section yet."""
    text = doc.read_text() if doc.exists() else default
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
