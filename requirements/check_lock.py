"""Exit 1 (naming what is missing) when the lock files do not cover pyproject.toml.

Every dependency of pyproject.toml (the project's, and the ``dev`` extra's for dev.txt) must be
pinned in the lock at a version its specifier allows, and runtime.txt must pin the same versions
as dev.txt. Runs with the bare virtualenv's Python (``make install`` calls it before anything is
installed), so it uses pip's vendored ``packaging`` when ``packaging`` itself is not there.
"""

import re
import sys
import tomllib
from pathlib import Path

try:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a fresh virtualenv: only pip is installed
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(path: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(path.read_text())}


def problems() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = pins(ROOT / "requirements/runtime.txt"), pins(ROOT / "requirements/dev.txt")
    found = []
    wanted = [(line, runtime, "runtime.txt") for line in project["dependencies"]]
    wanted += [(line, dev, "dev.txt") for line in project["dependencies"]]
    wanted += [(line, dev, "dev.txt") for line in project["optional-dependencies"]["dev"]]
    for line, locked, where in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in locked:
            found.append(f"{requirement.name} is not in requirements/{where}")
        elif not requirement.specifier.contains(locked[name], prereleases=True):
            found.append(f"{requirement.name}=={locked[name]} in {where} does not fit {line!r}")
    for name, version in runtime.items():
        if dev.get(name) != version:
            found.append(f"{name}: runtime.txt pins {version}, dev.txt {dev.get(name)}")
    return found


if __name__ == "__main__":
    found = problems()
    for problem in found:
        print(f"lock out of date: {problem}", file=sys.stderr)
    if found:
        print("run `make lock` and commit requirements/*.txt", file=sys.stderr)
    sys.exit(1 if found else 0)
