"""The page-size rule of every list, on the pages and in the API alike: ``page_size`` is a whole
number from 1 to ``MAX_PAGE_SIZE`` (default ``DEFAULT_PAGE_SIZE``); anything else is bad input
(a 400 in the API), never silently replaced by another size."""

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
PAGE_SIZE_RULE = f"1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE})."


class InvalidPageSize(ValueError):
    pass


def page_size_from(raw: str | None) -> int:
    """The ``page_size`` a request asks for: the default when absent; ``InvalidPageSize`` when it
    is not a whole number from 1 to the maximum."""
    if not raw:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidPageSize(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return int(raw)
