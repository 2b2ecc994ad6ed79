#!/usr/bin/env python3
"""Write a Jupyter Book config that builds the site from the notebooks' committed outputs.

`make test` has just run every notebook under nbval (every cell runs; checked outputs equal the
committed ones), and the hygiene tests check the committed notebooks were executed top to bottom
with the current library. Running them a third time to build the site would add minutes and
check nothing new, so the test build renders what is committed. `make book` still executes.

The config is written into BUILD_DIR; paths it holds relative to the project are made absolute,
because Jupyter Book resolves them against the config file's folder.

Usage: committed_config.py BUILD_DIR  (prints the path of the config it wrote)
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def committed_config(build_dir: Path) -> Path:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if config.get("execute", {}).get("execute_notebooks") is None:
        raise SystemExit("_config.yml has no execute.execute_notebooks to turn off")
    config["execute"]["execute_notebooks"] = "off"
    extensions = config.get("sphinx", {}).get("local_extensions", {})
    for name, folder in extensions.items():
        extensions[name] = str((ROOT / folder).resolve())
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / "_config_committed.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


if __name__ == "__main__":
    print(committed_config(Path(sys.argv[1])))
