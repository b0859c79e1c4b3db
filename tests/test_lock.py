"""The lock files: they cover pyproject.toml, pin every package with hashes, and are what the
Makefile and the Dockerfile install."""

import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REQUIREMENTS = BASE_DIR / "requirements"
sys.path.insert(0, str(REQUIREMENTS))

import check_lock  # noqa: E402


def entries(name: str) -> list[str]:
    """Each requirement of a lock file as one string (its continuation lines joined)."""
    text = (REQUIREMENTS / name).read_text().replace("\\\n", " ")
    return [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]


def test_the_lock_covers_pyproject():
    assert check_lock.problems() == []


def test_the_check_names_a_dependency_missing_from_the_lock(tmp_path, monkeypatch):
    (tmp_path / "requirements").mkdir()
    for name in ("runtime.txt", "dev.txt"):
        (tmp_path / "requirements" / name).write_text((REQUIREMENTS / name).read_text())
    pyproject = (BASE_DIR / "pyproject.toml").read_text()
    pyproject = pyproject.replace("dev = [\n", 'dev = [\n  "not-a-locked-package>=1.0",\n', 1)
    (tmp_path / "pyproject.toml").write_text(pyproject)
    monkeypatch.setattr(check_lock, "ROOT", tmp_path)
    assert check_lock.problems() == ["not-a-locked-package is not in requirements/dev.txt"]


def test_every_locked_package_is_pinned_with_hashes():
    for name in ("runtime.txt", "dev.txt", "tools.txt"):
        lines = entries(name)
        assert lines, name
        for line in lines:
            assert re.match(r"^[A-Za-z0-9._-]+(\[[^\]]*\])?==\S+", line), (name, line)
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", line), (name, line)


def test_make_install_and_the_dockerfile_install_the_lock_with_required_hashes():
    makefile = (BASE_DIR / "Makefile").read_text()
    assert "--require-hashes -r requirements/dev.txt" in makefile
    assert "install --quiet --require-hashes -r requirements/tools.txt" in makefile
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "COPY requirements/runtime.txt" in dockerfile
    assert re.search(r"pip install --require-hashes --no-deps -r \S*runtime\.txt", dockerfile)
    assert "pyproject.toml" not in dockerfile.split("COPY . .")[0]


def test_the_installed_versions_are_the_locked_ones():
    from importlib.metadata import PackageNotFoundError, version

    locked = check_lock.pins(REQUIREMENTS / "dev.txt")
    wrong = {}
    for line in entries("dev.txt"):
        name = re.match(r"^([A-Za-z0-9._-]+)", line).group(1)
        marker = line.split(";", 1)[1].split("--hash")[0].strip() if ";" in line else ""
        if marker and not _marker_applies(marker):
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            wrong[name] = "missing"
            continue
        if installed != locked[check_lock.canonicalize_name(name)]:
            wrong[name] = installed
    assert wrong == {}, "run `make install` (the virtualenv differs from the lock)"


def _marker_applies(marker: str) -> bool:
    from packaging.markers import Marker

    return Marker(marker).evaluate()


def test_make_lock_is_repeatable_with_the_locked_uv(tmp_path):
    """Re-locking changes nothing: the lock is what `make lock` makes from pyproject.toml."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        import pytest

        pytest.skip("uv is not installed in this virtualenv (make install puts it there)")
    for name, extra in (("runtime.txt", []), ("dev.txt", ["--extra", "dev"])):
        output = tmp_path / name
        output.write_text((REQUIREMENTS / name).read_text())
        result = subprocess.run(
            [
                str(uv),
                "pip",
                "compile",
                "pyproject.toml",
                *extra,
                "--universal",
                "--python-version",
                "3.11",
                "--generate-hashes",
                "--quiet",
                "--offline",
                "-o",
                str(output),  # seeded with the committed lock: uv keeps its pins, as make lock does
            ],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )
        unreachable = ("offline", "network was disabled")  # uv's words, older and newer
        if result.returncode != 0 and any(word in result.stderr.lower() for word in unreachable):
            continue  # nothing cached to resolve from offline: the other tests still hold
        assert result.returncode == 0, result.stderr
        body = output.read_text().split("\n", 2)[2]  # after the header naming the command
        committed = (REQUIREMENTS / name).read_text().split("\n", 2)[2]
        assert body == committed, f"requirements/{name} is not what make lock makes"
