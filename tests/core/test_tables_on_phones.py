"""Every table on a product page sits in a box that scrolls sideways, can be reached and scrolled
by keyboard (a named region with tabindex), and says on phones that it scrolls."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# E-mails lay out with tables; the dashboards' charts carry their own data tables.
NOT_PRODUCT_TABLES = {"notifications/email.html", "includes/chart.html"}
WRAPPER = re.compile(
    r'<div class="table-scroll" role="region" tabindex="0" aria-label="[^"]+, scrolls sideways">'
    r'\s*<p class="scroll-hint" aria-hidden="true">[^<]+</p>\s*<table\b'
)


def test_every_product_table_scrolls_in_a_named_region_with_a_hint():
    unwrapped = []
    tables = 0
    for path in TEMPLATES.rglob("*.html"):
        name = str(path.relative_to(TEMPLATES))
        if name in NOT_PRODUCT_TABLES or "chart" in name:
            continue
        text = path.read_text()
        count = len(re.findall(r"<table\b", text))
        tables += count
        if len(WRAPPER.findall(text)) != count:
            unwrapped.append(name)
    assert unwrapped == []
    assert tables >= 20  # the check reads the templates at all
