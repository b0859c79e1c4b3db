"""Where the benchmarks write their results: each script's own section of docs/benchmarks.md,
between its markers, so that no figure there is typed by hand."""

from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(script: str, text: str) -> None:
    """Replace what stands between ``<!-- bench/<script>: start -->`` and its end marker."""
    start, end = f"<!-- bench/{script}: start -->", f"<!-- bench/{script}: end -->"
    doc = DOCS.read_text()
    before, rest = doc.split(start, 1)
    _, after = rest.split(end, 1)
    DOCS.write_text(f"{before}{start}\n{text}\n{end}{after}")
