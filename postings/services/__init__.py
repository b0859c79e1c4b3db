"""Every write to postings goes through here.

Status changes follow ``Posting.TRANSITIONS``: each service locks the row, re-reads it, returns
early when the move already happened (so running it twice is harmless), checks the map, saves
with ``update_fields`` and writes the audit record (and the employer's notification) in the same
transaction.


One module per feature; the public names are re-exported here, so callers import
``postings.services`` and never a module inside it.
"""

from .closing import postings_close_due
from .editing import (
    posting_create,
    posting_duplicate,
    posting_update,
    search_vectors_refresh,
    skills_from_names,
)
from .moderation import (
    posting_approve,
    posting_reinstate,
    posting_reject,
    posting_remove,
    posting_request_changes,
    posting_suspend,
)
from .publishing import (
    posting_submit,
    posting_withdraw,
)
from .reports import (
    posting_report,
    posting_reports_dismiss,
)
from .saved_searches import (
    saved_search_create,
    saved_search_delete,
    saved_searches_send_digests,
)
from .seats import (
    posting_seat_released,
    posting_seat_taken,
)
from .staff_digest import moderation_digest_send

__all__ = [
    "moderation_digest_send",
    "posting_approve",
    "posting_create",
    "posting_duplicate",
    "posting_reinstate",
    "posting_reject",
    "posting_remove",
    "posting_report",
    "posting_reports_dismiss",
    "posting_request_changes",
    "posting_seat_released",
    "posting_seat_taken",
    "posting_submit",
    "posting_suspend",
    "posting_update",
    "posting_withdraw",
    "postings_close_due",
    "saved_search_create",
    "saved_search_delete",
    "saved_searches_send_digests",
    "search_vectors_refresh",
    "skills_from_names",
]
