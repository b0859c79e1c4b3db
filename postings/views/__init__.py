"""Pages: finding work (public), the employer's postings, saved searches, reports and
moderation, choosing a format, and the dashboard panels; one module per feature."""

from .editing import (
    my_postings,
    posting_create,
    posting_duplicate,
    posting_edit,
    posting_preview,
    posting_submit,
    posting_withdraw,
    submitted_message,
)
from .finding import posting_detail, posting_list
from .formats import format_guide
from .moderation import moderate, moderation_queue, posting_report
from .panels import employer_panel, recommended_panel, staff_panel
from .saved_searches import saved_search_delete, saved_searches

__all__ = [
    "employer_panel",
    "format_guide",
    "moderate",
    "moderation_queue",
    "my_postings",
    "posting_create",
    "posting_detail",
    "posting_duplicate",
    "posting_edit",
    "posting_list",
    "posting_preview",
    "posting_report",
    "posting_submit",
    "posting_withdraw",
    "recommended_panel",
    "saved_search_delete",
    "saved_searches",
    "staff_panel",
    "submitted_message",
]
