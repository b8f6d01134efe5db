"""Where the miniF2F data lives: the repository's `datasets/minif2f/` (a copy of the shared
data, with its README and licenses), or `../shared/datasets/minif2f/` beside the repository."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CANDIDATES = (REPO / "datasets" / "minif2f", REPO.parent / "shared" / "datasets" / "minif2f")


def minif2f_dir() -> Path:
    """The first folder of `CANDIDATES` that holds `valid.jsonl` (the repository's own copy first)."""
    for folder in CANDIDATES:
        if (folder / "valid.jsonl").is_file():
            return folder
    return CANDIDATES[0]


def minif2f_file(name: str) -> Path:
    """A file of the miniF2F data, e.g. `minif2f_file("valid.jsonl")`."""
    return minif2f_dir() / name
