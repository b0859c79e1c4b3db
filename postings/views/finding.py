"""Finding work (public): the list with its filters, search and pages, and a posting's page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Prefetch, prefetch_related_objects
from django.shortcuts import render
from django.template.loader import get_template
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from marketplace.core.paging import DEFAULT_PAGE_SIZE, InvalidPageSize, page_size_from

from .. import rules, selectors
from ..cache import cache_anonymous, shared
from ..cards import posting_cards
from ..counts import COUNT_LIMIT, match_count
from ..filter_form import options_html
from ..filters import PostingFilter, describe_query, filterset_query
from ..forms import ReasonForm
from ..models import Posting, PostingMilestone, ScreeningQuestion
from ..pagination import InvalidCursor, Page, paginate
from ..parts import render_detail_parts

# The list's filter controls, in the order the form shows them.
CHECKBOX_GROUPS = [("format", "Format"), ("work_mode", "Work mode")]
SELECT_FIELDS = [  # (name, label, several may be chosen)
    ("compensation", "Paid or credit", False),
    ("category", "Category", False),
    ("skill", "Skills", True),
    ("sort", "Sort by", False),
]
INPUT_FIELDS = [  # (name, label, input type, step)
    ("min_pay", "Minimum pay", "number", "0.01"),
    ("max_hours_per_week", "Maximum hours per week", "number", "1"),
    ("starts_after", "Starts on or after", "date", ""),
    ("starts_before", "Starts on or before", "date", ""),
]


@require_safe
@cache_anonymous("page")
def posting_list(request):
    """The public list: filters, search, sort and keyset pages (see ``postings.pagination``).
    Anonymous visitors' answers are cached briefly whole; everyone else shares the cached
    content and only their own part is rendered (see ``postings.cache``)."""
    content = shared(request, "list-content", lambda: _list_content(request), keep=_storable)
    personal = ""
    if content["can_save"]:
        login = reverse("account_login") + "?" + urlencode({"next": request.get_full_path()})
        context = {**content, "login_to_save": login}
        personal = get_template("postings/_save_search.html").render(context, request)
    before, after = content["html"]
    page = mark_safe(before + personal + after)  # noqa: S308 - our templates' output, escaped there
    response = render(request, "postings/list.html", {"content": page}, status=content["status"])
    if getattr(request, "shared_hit", False):
        response["X-Cache"] = "shared"
    return response


def _storable(content: dict) -> bool:
    return content["status"] == 200


# Where the visitor's own part goes in the shared content.
PERSONAL_SLOT = mark_safe("<!-- personal -->")


def _list_content(request) -> dict:
    """The list's content for this URL, the same for every visitor: the HTML before and after the
    visitor's own part, and what that part needs (whether saving the search is offered)."""
    filterset = PostingFilter(request.GET, queryset=selectors.postings_listed())
    page, errors, total = _page_of(request, filterset)
    status = 400 if errors or not filterset.is_valid() else 200

    def link(cursor):
        params = request.GET.copy()
        params["cursor"] = cursor
        return f"?{params.urlencode()}"

    save_query = filterset_query(filterset) if status == 200 else ""
    context = {
        "filter": filterset,
        "total": total,
        "total_label": f"{COUNT_LIMIT:,}+" if total and total > COUNT_LIMIT else total,
        "save_query": save_query,
        "page": page,
        "cards": posting_cards(page.items) if page else [],
        "errors": errors,
        "next_link": link(page.next_cursor) if page and page.next_cursor else "",
        "previous_link": link(page.previous_cursor) if page and page.previous_cursor else "",
        "personal_slot": PERSONAL_SLOT,
    }
    context.update(_filter_controls(request, filterset))
    html = get_template("postings/_list_content.html").render(context)
    before, after = html.split(PERSONAL_SLOT, 1)
    return {
        "status": status,
        "html": (before, after),
        # Saving "all postings" says nothing: offered once a filter or a search is set.
        "can_save": status == 200 and bool(save_query),
        "save_query": save_query,
        "save_name": ", ".join(describe_query(save_query))[:80] or "All postings",
    }


def _page_of(request, filterset: PostingFilter) -> tuple[Page | None, list[str], int | None]:
    """The page the query asks for and the number of matches (``postings.counts``), or None
    with the messages that say what is wrong with it (a page size out of range, a cursor that
    is not valid)."""
    errors: list[str] = []
    try:
        page_size = page_size_from(request.GET.get("page_size"))
    except InvalidPageSize as exc:
        errors.append(str(exc))
        page_size = DEFAULT_PAGE_SIZE
    if not filterset.is_valid() or errors:
        return None, errors, None
    sort = filterset.sort_name(searching=bool(filterset.form.cleaned_data.get("q")))
    cursor = request.GET.get("cursor")
    try:
        page = paginate(filterset.qs, sort=sort, cursor=cursor, page_size=page_size)
    except InvalidCursor as exc:
        return None, [*errors, str(exc)], None
    if filterset.candidates is not None:
        return page, errors, filterset.candidates  # ranked by relevance: its bounded candidates
    matches = filterset_query(filterset, with_sort=False)
    total = match_count(filterset.qs, page=page, first_page=not cursor, search=matches)
    return page, errors, total


def _filter_controls(request, filterset: PostingFilter) -> dict:
    """The filter form's controls for the template, each with the visitor's choices selected."""
    fields = filterset.form.fields
    chosen = request.GET.getlist
    return {
        "selected": {
            "q": request.GET.get("q", ""),
            "lists": {name: request.GET.getlist(name) for name in request.GET},
            "values": {name: request.GET.get(name, "") for name in request.GET},
        },
        "checkbox_groups": [
            (name, label, options_html("checkbox", name, fields[name].choices, chosen(name)))
            for name, label in CHECKBOX_GROUPS
        ],
        "select_fields": [
            (name, label, options_html("option", name, fields[name].choices, chosen(name)), many)
            for name, label, many in SELECT_FIELDS
        ],
        "input_fields": INPUT_FIELDS,
    }


@require_safe
@cache_anonymous("page")
def posting_detail(request, pk: int):
    """A posting's page; anonymous visitors' answers are cached briefly, like the list's."""
    user = request.user if request.user.is_authenticated else None
    posting = selectors.posting_get_visible(pk=pk, user=user)
    # Read once for the page and for the parts other apps add (the apply form's questions),
    # in their own order: the models' default order starts with the posting, which would join
    # the postings table to sort the rows of one posting.
    prefetch_related_objects(
        [posting],
        Prefetch("milestones", PostingMilestone.objects.order_by("position", "id")),
        Prefetch("questions", ScreeningQuestion.objects.order_by("position", "id")),
    )
    is_member = user is not None and selectors.posting_is_member(posting=posting, user=user)
    context = {
        "posting": posting,
        "description_html": posting.description_html,
        "criteria_html": posting.criteria_html,
        "milestones": list(posting.milestones.all()),
        "questions": list(posting.questions.all()),
        "skills": posting.skill_list,
        "is_member": is_member,
        "can_moderate": bool(user and user.is_staff),
        "pay_floor": rules.pay_floor(),
        "parts": render_detail_parts(request, posting),
    }
    if is_member or context["can_moderate"]:
        values = rules.Values.of(posting)
        context["warnings"] = rules.posting_warnings(values) if is_member else []
        context["problems"] = (
            rules.posting_errors(values) if posting.status in Posting.EDITABLE else {}
        )
        context["decisions"] = list(posting.decisions.select_related("actor")[:10])
        context["reason_form"] = ReasonForm()
    return render(request, "postings/detail.html", context)
