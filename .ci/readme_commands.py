"""Print a quick-start command of README.md, so CI runs the README's own words and not a copy.

    python3 .ci/readme_commands.py 1   # install, then run the main job on the embedded model
    python3 .ci/readme_commands.py 2   # install the test extras, then run the tests

The quick start is the ``## Quick start`` section: exactly two ```sh blocks of one line each.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start(text: str) -> list[str]:
    if "\n## Quick start\n" not in text:
        raise SystemExit(f"{README}: no '## Quick start' section")
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"^```sh\n(.*?)^```", section, re.S | re.M)]
    if len(blocks) != 2 or any("\n" in b for b in blocks):
        raise SystemExit(f"{README}: the quick start must hold exactly two one-line ```sh blocks, found {blocks!r}")
    return blocks


if __name__ == "__main__":
    which = int(sys.argv[1]) if len(sys.argv) == 2 and sys.argv[1] in ("1", "2") else 0
    if not which:
        raise SystemExit("usage: readme_commands.py 1|2")
    print(quick_start(README.read_text(encoding="utf-8"))[which - 1])
