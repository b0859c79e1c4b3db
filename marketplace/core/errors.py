"""Domain errors. Services raise them; the browser views and the API turn them into a 4xx with
the message (see ``marketplace.core.api.exception_handler``), never a 500."""


class DomainError(Exception):
    """A business rule refused the operation. ``code`` is stable for API clients."""

    code = "invalid"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidTransition(DomainError):
    """A status change that the transition map does not allow from the current status."""

    code = "invalid_transition"
    status_code = 409


class AlreadyExists(DomainError):
    """Creating what exists already (a second rating, a second open report): the API answers
    409 with the existing object under ``existing``, never 201 with other values."""

    code = "exists"
    status_code = 409

    def __init__(self, message: str, *, existing: dict):
        super().__init__(message)
        self.existing = existing


class NotPermitted(DomainError):
    """The acting user may not do this to this object."""

    code = "not_permitted"
    status_code = 403


def check_transition(*, transitions: dict, current: str, target: str, what: str) -> None:
    """Raise ``InvalidTransition`` unless ``target`` is allowed from ``current``."""
    if target not in transitions.get(current, ()):
        raise InvalidTransition(f"A {what} cannot move from {current} to {target}.")


def status_move(obj, target: str, what: str) -> None:
    """Set ``obj.status`` to ``target`` if its model's ``TRANSITIONS`` map allows it (else
    ``InvalidTransition``). The caller holds the row's lock and saves with ``update_fields``."""
    check_transition(
        transitions=type(obj).TRANSITIONS, current=obj.status, target=target, what=what
    )
    obj.status = target
