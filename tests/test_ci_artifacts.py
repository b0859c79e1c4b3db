"""CI keeps the screenshot folder: the browser tests write into test-artifacts/, the README names
it as the CI output, and .ci/run says where it is at the end of every run."""

from pathlib import Path

from tests.e2e.conftest import ARTIFACTS

ROOT = Path(__file__).resolve().parents[1]


def test_the_screenshot_folder_is_documented_and_announced_by_ci():
    assert ARTIFACTS == ROOT / "test-artifacts"
    readme = (ROOT / "README.md").read_text()
    assert "**CI output**: `test-artifacts/`" in readme
    run = (ROOT / ".ci" / "run").read_text()
    assert 'artifacts="$(pwd)/test-artifacts"' in run
    assert "trap show_artifacts EXIT" in run
    assert run.index("trap show_artifacts EXIT") < run.index("\nmake test\n")
    assert "test-artifacts/" in (ROOT / ".gitignore").read_text()
