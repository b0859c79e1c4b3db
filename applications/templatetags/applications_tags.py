from django import template

register = template.Library()


@register.simple_tag
def open_disputes_count() -> int:
    """Open disputes, for the staff navigation (one query; only rendered for staff)."""
    from applications.selectors import disputes_open

    return disputes_open().count()
