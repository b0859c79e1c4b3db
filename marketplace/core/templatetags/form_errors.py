"""The error summary every form shows above itself when it comes back with errors: one list of
the problems, each a link to its field, focused on load (site.js) so that a screen reader reads
it and a keyboard user starts from it."""

from __future__ import annotations

from django import template

register = template.Library()


def _problems(form) -> list[tuple[str, str]]:
    """``[(field id or "", message), ...]`` of a form or a formset, in the order shown; a list
    or tuple stands for messages of the page's own (a rule across several fields)."""
    if isinstance(form, list | tuple):
        return [("", str(message)) for message in form]
    if form is None or not getattr(form, "is_bound", False):
        return []
    if hasattr(form, "forms"):  # a formset: its own errors, then each row's
        found = [("", str(e)) for e in form.non_form_errors()]
        for row in form.forms:
            found += _problems(row)
        return found
    found = [("", str(e)) for e in form.non_field_errors()]
    for field in form:
        for error in field.errors:
            label = field.label or field.name.replace("_", " ").capitalize()
            found.append((_focus_target(field), f"{label}: {error}"))
    return found


def _focus_target(field) -> str:
    """The id the summary links to: the field's input, or for a group of radio buttons or
    check boxes (no single input to label) the first of them, so the link can take the focus."""
    if field.id_for_label:
        return field.id_for_label
    options = field.subwidgets
    return (options[0].id_for_label if options else "") or field.auto_id or ""


@register.inclusion_tag("includes/error_summary.html")
def error_summary(*forms):
    """``{% error_summary form formset messages ... %}``: nothing when every form is valid or
    unbound and no message is given."""
    problems: list[tuple[str, str]] = []
    for form in forms:
        problems += _problems(form)
    return {"problems": problems}
