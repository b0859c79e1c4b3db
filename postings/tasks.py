from celery import shared_task

from . import services


@shared_task(name="postings.close_due")
def close_due() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): close postings past their deadline or full."""
    return services.postings_close_due()


@shared_task(name="postings.send_saved_search_digests")
def send_saved_search_digests() -> int:
    """Every minute (CELERY_BEAT_SCHEDULE): the digests of the saved searches that are due."""
    return services.saved_searches_send_digests()


@shared_task(name="postings.send_moderation_digest")
def send_moderation_digest() -> int:
    """Every MODERATION_DIGEST_MINUTES (CELERY_BEAT_SCHEDULE): staff hear what waits for review."""
    return services.moderation_digest_send()
