"""Files written whole: a reader in another process sees the old content or the new, never half."""

import os
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)
