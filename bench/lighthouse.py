"""Lighthouse scores (phone profile) of the home page, the postings list and a posting page.

    npm ci --prefix bench                      # once: the locked Lighthouse (bench/package*.json)
    make run PORT=8765                         # the site with its demo data, in another terminal
    .venv/bin/python bench/lighthouse.py [--base-url http://127.0.0.1:8765] [--out FILE]
                                         [--runs 3] [--json-dir DIR]

Lighthouse drives Debian's Chromium (``CHROME_PATH``, default ``/usr/bin/chromium``) headless,
with its default phone profile (a mid-range phone, throttled network and CPU). The posting page is
the first one linked from the list. Each page is measured ``--runs`` times and the run with the
median performance score is reported (``--json-dir`` keeps its full report, to read the audits).
The script prints a table of the four category scores per page and writes it as Markdown
(``--out``, default ``docs/lighthouse.md``); it exits with 1 when a score is under ``--goal``
(95), naming the audits that cost points.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"


def lighthouse_binary() -> str:
    local = HERE / "node_modules" / ".bin" / "lighthouse"
    if local.exists():
        return str(local)
    sys.exit("Lighthouse is missing: run `npm ci --prefix bench` first.")


def first_posting_url(base_url: str) -> str:
    with urllib.request.urlopen(f"{base_url}/postings/", timeout=30) as response:  # noqa: S310
        html = response.read().decode()
    match = re.search(r'href="(/postings/\d+/)"', html)
    if not match:
        sys.exit(f"No posting is linked from {base_url}/postings/: load the demo data first.")
    return base_url + match.group(1)


def run(binary: str, url: str, attempts: int = 3) -> dict:
    """One Lighthouse run; Chromium sometimes fails to start on a busy machine, so try again."""
    for attempt in range(1, attempts + 1):
        try:
            return _run_once(binary, url)
        except subprocess.CalledProcessError:
            if attempt == attempts:
                raise
            print(f"lighthouse failed on {url}; trying again", file=sys.stderr)
    raise AssertionError("unreachable")


def _run_once(binary: str, url: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run(  # noqa: S603 - fixed argv
            [
                binary,
                url,
                "--quiet",
                "--output=json",
                f"--output-path={report}",
                f"--only-categories={','.join(CATEGORIES)}",
                f"--chrome-flags={CHROME_FLAGS}",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")},
            timeout=300,
        )
        return json.loads(report.read_text())


def median_run(reports: list[dict]) -> dict:
    """The run with the median performance score. Total blocking time is CPU time, so one run
    on a busy machine can lose ten points that the page does not cost; Lighthouse's own advice
    is to report the median of several runs."""
    ordered = sorted(reports, key=lambda r: r["categories"]["performance"]["score"] or 0)
    return ordered[len(ordered) // 2]


def losses(report: dict, category: str) -> list[str]:
    """The audits of a category that scored under 1, heaviest first."""
    refs = report["categories"][category]["auditRefs"]
    lost = []
    for ref in sorted(refs, key=lambda r: -r["weight"]):
        audit = report["audits"][ref["id"]]
        if ref["weight"] and audit.get("score") is not None and audit["score"] < 1:
            lost.append(f"{ref['id']} ({audit['score']:.2f}): {audit.get('displayValue', '')}")
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8765")
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "lighthouse.md"))
    parser.add_argument("--goal", type=int, default=95)
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs per page; the one with the median performance score is reported",
    )
    parser.add_argument("--json-dir", help="keep each reported run's full JSON report here")
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    binary = lighthouse_binary()
    pages = {
        "home": f"{base}/",
        "postings list": f"{base}/postings/",
        "a posting": first_posting_url(base),
    }
    rows, missed = [], []
    for name, url in pages.items():
        report = median_run([run(binary, url) for _ in range(args.runs)])
        if args.json_dir:
            Path(args.json_dir).mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"\W+", "-", name)
            (Path(args.json_dir) / f"{slug}.json").write_text(json.dumps(report))
        scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
        rows.append((name, url.removeprefix(base), scores))
        for category, score in scores.items():
            if score < args.goal:
                missed.append(f"{name} {category} {score}: " + "; ".join(losses(report, category)))
    header = "| page | path | " + " | ".join(CATEGORIES) + " |"
    lines = [header, "|" + "---|" * (len(CATEGORIES) + 2)]
    lines += [
        f"| {name} | `{path}` | " + " | ".join(str(s[c]) for c in CATEGORIES) + " |"
        for name, path, s in rows
    ]
    table = "\n".join(lines)
    print(table)
    for line in missed:
        print("under the goal:", line)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    # Total blocking time is CPU time: on a shared machine it follows the machine's load.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    cores = os.cpu_count()
    Path(args.out).write_text(
        "# Lighthouse scores\n\n"
        f"Phone profile, Debian's Chromium, `python bench/lighthouse.py --runs {args.runs}` "
        f"(the median run of {args.runs} per page) on {stamp}, against "
        "`make run` (runserver, SQLite, demo data). Goal: 95 or more in each category. "
        f"Load average during the run: {load} on {cores} cores.\n\n"
        f"{table}\n" + "".join(f"\nUnder the goal: {line}\n" for line in missed)
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
