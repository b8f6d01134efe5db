"""Where the miniF2F data lives: the repository's `datasets/minif2f/` (with its README and licenses)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MINIF2F_DIR = REPO / "datasets" / "minif2f"


def minif2f_dir() -> Path:
    """The folder of the miniF2F data (`valid.jsonl` and its companions)."""
    return MINIF2F_DIR


def minif2f_file(name: str) -> Path:
    """A file of the miniF2F data, e.g. `minif2f_file("valid.jsonl")`."""
    return minif2f_dir() / name
