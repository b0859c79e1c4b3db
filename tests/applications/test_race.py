"""Two students accept offers for the last seat at the same moment, on PostgreSQL, each on its
own connection: exactly one gets the seat, the other is refused cleanly (no deadlock, no 500),
and the loser's application is then closed with a notice."""

import threading
from unittest import mock

import pytest
from django.db import connection

from applications import services
from applications.models import Application, Assignment
from applications.services import selecting
from marketplace.core.errors import DomainError
from postings import services as posting_services
from postings.models import Posting
from tests.applications.factories import ApplicationFactory, walk_to
from tests.factories import CreditPostingFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_students_accept_the_last_seat_at_once():
    posting = CreditPostingFactory(openings=2, seats_filled=1)
    first, second = (ApplicationFactory(posting=posting) for _ in range(2))
    for application in (first, second):
        walk_to(application, Application.Status.OFFERED)

    # Both transactions have locked their own application and reach the seat together.
    at_the_seat = threading.Barrier(2, timeout=10)
    real_seat_taken = posting_services.posting_seat_taken

    def seat_taken_together(*, posting):
        at_the_seat.wait()
        return real_seat_taken(posting=posting)

    results: dict[int, str] = {}

    def accept(application):
        try:
            services.application_accept(application=application, actor=application.student)
            results[application.pk] = "accepted"
        except DomainError as exc:
            results[application.pk] = exc.code
        except Exception as exc:  # a deadlock or a database error would land here
            results[application.pk] = f"error: {exc!r}"
        finally:
            connection.close()

    with mock.patch.object(selecting, "posting_seat_taken", seat_taken_together):
        threads = [threading.Thread(target=accept, args=(a,)) for a in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(results.values()) == ["accepted", "no_seat_left"], results
    posting.refresh_from_db()
    assert posting.seats_filled == 2
    assert posting.status == Posting.Status.CLOSED
    assert Assignment.objects.count() == 1
    winner_pk = next(pk for pk, r in results.items() if r == "accepted")
    loser_pk = next(pk for pk, r in results.items() if r != "accepted")
    assert Assignment.objects.get().application_id == winner_pk
    # The loser's offer is closed with a notice (after commit, or by the sweep).
    services.applications_close_for_closed_postings()
    loser = Application.objects.get(pk=loser_pk)
    assert (loser.status, loser.closed_reason) == ("rejected", "filled")
    assert loser.student.notifications.filter(kind="application.closed").count() == 1
