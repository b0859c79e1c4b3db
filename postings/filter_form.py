"""The list's filter form, the part of the busiest page that hardly changes: the HTML of every
option (checked and not) is made once per process and set of choices, and each request only
picks, instead of a template loop over some 60 options on every page."""

from functools import lru_cache

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

PATTERNS = {
    "checkbox": (
        '<label><input type="checkbox" name="{name}" value="{value}"{mark}> {text}</label>',
        " checked",
    ),
    "option": ('<option value="{value}"{mark}>{text}</option>', " selected"),
}


@lru_cache(maxsize=256)
def _rendered(kind: str, name: str, choices: tuple) -> tuple[tuple[str, str, str], ...]:
    pattern, mark = PATTERNS[kind]
    rendered = []
    for value, text in choices:
        parts = {
            "name": conditional_escape(name),
            "value": conditional_escape(value),
            "text": conditional_escape(text),
        }
        rendered.append(
            (str(value), pattern.format(mark="", **parts), pattern.format(mark=mark, **parts))
        )
    return tuple(rendered)


def options_html(kind: str, name: str, choices, selected: list[str]) -> SafeString:
    """The options of field ``name`` (``kind`` "checkbox" or "option"), those in ``selected``
    (the request's values) marked."""
    chosen = set(selected)
    html = "".join(
        on if value in chosen else off for value, off, on in _rendered(kind, name, tuple(choices))
    )
    return mark_safe(html)  # noqa: S308 - every part escaped above
