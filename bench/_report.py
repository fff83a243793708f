"""How every benchmark hands back its figures: the summary as JSON on stdout (what the
``python -m bench`` runner reads), optionally written to ``--json`` and, as a Markdown table,
to ``--markdown``; a human-readable view on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def emit(
    summary: dict[str, Any],
    *,
    json_path: Path | None,
    markdown_path: Path | None = None,
    markdown: str | None = None,
    human: str | None = None,
) -> None:
    text = json.dumps(summary, indent=2)
    print(text)
    if json_path:
        json_path.write_text(text + "\n")
    if markdown_path and markdown is not None:
        markdown_path.write_text(markdown)
    if human is not None:
        print(human, file=sys.stderr)
