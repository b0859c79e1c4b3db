"""``status_move``: the one place where a service sets a status, checked against the map."""

import pytest

from marketplace.core.errors import InvalidTransition, status_move


class Thing:
    TRANSITIONS = {"open": {"done"}, "done": set()}

    def __init__(self, status):
        self.status = status


def test_an_allowed_move_sets_the_status():
    thing = Thing("open")
    status_move(thing, "done", "thing")
    assert thing.status == "done"


def test_a_forbidden_move_raises_and_leaves_the_status():
    thing = Thing("done")
    with pytest.raises(InvalidTransition, match="A thing cannot move from done to open"):
        status_move(thing, "open", "thing")
    assert thing.status == "done"
