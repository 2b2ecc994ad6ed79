#!/usr/bin/env python3
"""Clear the book's execution cache when the library or the pinned environment changes.

jupyter-cache re-executes a notebook only when its code cells change; but a chapter's outputs
also depend on ``dmls`` and on the installed versions. This keeps a hash of those next to the
cache and removes the cache when the hash differs, so `make book` never shows stale outputs.

Usage: cache_key.py CACHE_DIR
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def key() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "lib").rglob("*.py")) + [ROOT / "requirements.lock", ROOT / "pyproject.toml"]
    for path in files:
        h.update(path.relative_to(ROOT).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def main(cache_dir: str) -> int:
    cache = Path(cache_dir)
    stamp = cache.parent / (cache.name + ".key")
    current = key()
    if stamp.exists() and stamp.read_text() != current and cache.exists():
        print(f"lib/ or the lock file changed: clearing {cache}")
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
