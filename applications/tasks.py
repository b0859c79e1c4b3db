"""Thin Celery adapters: ids in, one service call. The sweeps run every minute from beat."""

from celery import shared_task

from . import services


@shared_task(name="applications.expire_offers")
def expire_offers() -> int:
    return services.applications_expire_offers_due()


@shared_task(name="applications.expire_unfunded")
def expire_unfunded() -> int:
    return services.assignments_expire_unfunded_due()


@shared_task(name="applications.auto_approve")
def auto_approve() -> int:
    return services.milestones_auto_approve_due()


@shared_task(name="applications.publish_ratings")
def publish_ratings() -> int:
    return services.ratings_publish_due()


@shared_task(name="applications.close_for_closed_postings")
def close_for_closed_postings() -> int:
    return services.applications_close_for_closed_postings()


@shared_task(name="applications.close_for_posting")
def close_for_posting(posting_id: int) -> int:
    return services.applications_close_for_posting(posting_id=posting_id)
