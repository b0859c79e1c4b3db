"""Form widget attributes shared by the apps."""

from collections.abc import Iterable


def upload_limits(*, max_bytes: int, extensions: Iterable[str], max_files: int = 1) -> dict:
    """Attributes of a file input that ``static/js/uploads.js`` reads to check files in the
    browser before sending them: the same limits the server checks, from the same settings."""
    return {
        "data-max-bytes": str(max_bytes),
        "data-max-files": str(max_files),
        "data-extensions": ",".join(ext.lower() for ext in extensions),
    }
