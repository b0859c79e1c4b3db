import re
from pathlib import Path

from notifications.kinds import DEADLINE_TITLES, KINDS, grouped_kinds

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_is_in_exactly_one_group():
    grouped = [kind for _, kinds in grouped_kinds() for kind, _ in kinds]
    assert sorted(grouped) == sorted(KINDS)
    assert "Other" not in [group for group, _ in grouped_kinds()]


def test_every_dotted_kind_the_apps_pass_is_known():
    """A kind missing here could not be switched off, and its e-mails would only have the
    "stop all e-mails" link."""
    used = set()
    for app in ("accounts", "postings", "applications", "payments"):
        for path in (ROOT / app).rglob("*.py"):
            used |= set(re.findall(r'\bkind="([a-z_]+\.[a-z_]+)"', path.read_text()))
    assert used, "no kinds found: the search is broken"
    assert sorted(used - set(KINDS)) == []


def test_deadline_titles_are_reminder_kinds():
    assert set(DEADLINE_TITLES) <= {k for k in KINDS if k.startswith("reminder.")}
