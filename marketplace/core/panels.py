"""Dashboard panels: each app adds its part of a user's dashboard without core importing it.

An app registers a function in its ``AppConfig.ready()``::

    from marketplace.core.panels import register_panel
    register_panel("applications.student", student_panel, order=20)

The function takes the request and returns ``(template_name, context)`` or None when it has
nothing to show for this user. The dashboard renders the panels in ``order``.
"""

from collections.abc import Callable

from django.http import HttpRequest

PanelFunction = Callable[[HttpRequest], tuple[str, dict] | None]
_panels: dict[str, tuple[int, PanelFunction]] = {}


def register_panel(name: str, function: PanelFunction, *, order: int = 50) -> None:
    _panels[name] = (order, function)


def render_panels(request: HttpRequest) -> list[tuple[str, dict]]:
    rendered = []
    for _order, function in sorted(_panels.values(), key=lambda item: item[0]):
        result = function(request)
        if result is not None:
            rendered.append(result)
    return rendered
