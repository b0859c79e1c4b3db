"""Parts that other apps add to a posting's page, without postings importing them.

Apps that depend on postings (applications: the apply form, or "you applied") register a function
in their ``AppConfig.ready()``, as dashboard panels do::

    from postings.parts import register_detail_part
    register_detail_part("applications.apply", apply_part, order=10)

The function takes the request and the posting and returns ``(template_name, context)`` or None
when it has nothing to show for this visitor.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

PartFunction = Callable[[HttpRequest, Any], tuple[str, dict] | None]
_parts: dict[str, tuple[int, PartFunction]] = {}


def register_detail_part(name: str, function: PartFunction, *, order: int = 50) -> None:
    _parts[name] = (order, function)


def render_detail_parts(request: HttpRequest, posting) -> list[tuple[str, dict]]:
    rendered = []
    for _order, function in sorted(_parts.values(), key=lambda item: item[0]):
        result = function(request, posting)
        if result is not None:
            rendered.append(result)
    return rendered
