"""The pins: one lock file, the same pins for conda users, and an environment that matches them."""
from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"requirements.lock has a line that is not an exact pin: {line!r}"
        pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for item in pip_section:
        m = PIN.match(item)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def test_environment_yml_has_the_lock_files_pins():
    lock, conda = lock_pins(), conda_pins()
    lock.pop("pip", None)  # conda installs pip itself
    missing = sorted(set(lock) - set(conda))
    extra = sorted(set(conda) - set(lock))
    differ = sorted(f"{n}: lock {lock[n]} vs environment.yml {conda[n]}" for n in set(lock) & set(conda) if lock[n] != conda[n])
    assert not (missing or extra or differ), f"missing {missing}, extra {extra}, different {differ}; run `make lock`"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_torch_is_the_pinned_cpu_build():
    pins = lock_pins()
    assert pins["torch"] == "2.13.0+cpu"
    cuda = [name for name in pins if name.startswith("nvidia-") or name.startswith("triton")]
    assert not cuda, f"the lock pulls CUDA packages: {cuda}"


def test_jupyter_book_is_the_1x_line():
    assert lock_pins()["jupyter-book"].startswith("1.")


def test_every_declared_dependency_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    pins = lock_pins()
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} does not satisfy {req}"


def test_installed_versions_match_the_lock():
    """The environment running the tests is the locked one (a stale .venv fails here)."""
    wrong = []
    for name, version in lock_pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed")
            continue
        if installed != version:
            wrong.append(f"{name} {installed} installed, {version} locked")
    assert not wrong, "; ".join(wrong)
