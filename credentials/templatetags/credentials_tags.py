from django import template

from credentials.selectors import record_credentials

register = template.Library()


@register.simple_tag
def credentials_for(entries) -> dict:
    """``{assignment id: credential}`` for the record's entries, in one query."""
    return record_credentials(assignment_ids=[entry.assignment.pk for entry in entries])


@register.filter
def credential_of(mapping: dict, assignment_id):
    return mapping.get(assignment_id)
