"""Pages and notifications show dates one way: "3 Mar 2027, 14:05 UTC" (a moment, in the
viewer's time zone), "3 Mar 2027" (a day), "Mar 2027" (a month); machine-readable ``datetime``
attributes use ISO 8601 ('c')."""

import re
from pathlib import Path

from django.template import Context, Template
from django.utils import timezone

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ALLOWED = {"c", "j M Y, H:i T", "j M Y", "M Y"}
DATE_FILTER = re.compile(r"""\|date:["']([^"']*)["']""")


def test_every_template_formats_dates_one_way():
    found: dict[str, set[str]] = {}
    for path in TEMPLATES.rglob("*.html"):
        for fmt in DATE_FILTER.findall(path.read_text()):
            found.setdefault(fmt, set()).add(str(path.relative_to(TEMPLATES)))
    odd = {fmt: sorted(paths) for fmt, paths in found.items() if fmt not in ALLOWED}
    assert odd == {}
    assert "j M Y, H:i T" in found  # the check reads the templates at all


def test_the_inbox_row_and_the_dashboard_panel_show_the_same_date():
    import datetime as dt

    moment = timezone.make_aware(dt.datetime(2027, 3, 3, 14, 5))
    rendered = {
        name: Template(
            Path(TEMPLATES / name)
            .read_text()
            .split("datetime=\"{{ n.created_at|date:'c' }}\">")[1]
            .split("</time>")[0]
        ).render(Context({"n": {"created_at": moment}}))
        for name in ("notifications/_row.html", "notifications/panel.html")
    }
    assert set(rendered.values()) == {"3 Mar 2027, 14:05 UTC"}
