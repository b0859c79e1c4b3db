"""Logs an operator can follow across machines: one JSON object per line in production (plain
text in development), each carrying the request id, the user id and the task id it belongs to.

- ``RequestIdMiddleware`` takes the proxy's ``X-Request-ID`` (or makes one), answers it in the
  response header, and keeps it (with the user's id) in context variables for the request.
- A task enqueued during the request carries the id in its message headers
  (``before_task_publish``); the worker puts it back in context around the task
  (``task_prerun``), so the task's log lines name the request that caused them.
- ``ContextFilter`` copies the context onto every log record; ``JsonFormatter`` writes it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished, request_started
from django.dispatch import receiver

logger = logging.getLogger(__name__)
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
user_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="")
task_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("task_id", default="")

HEADER = "X-Request-ID"
# A proxy's id is kept only if it looks like one (no log injection through the header).
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


def _request_id_from(meta) -> str:
    given = meta.get("HTTP_X_REQUEST_ID", "")
    return given if _SAFE_ID.match(given) else uuid.uuid4().hex


@receiver(request_started, weak=False, dispatch_uid="logs-request-started")
def _request_started(environ=None, **kwargs):
    # Set from the first moment to the last (request_finished), so that the lines Django writes
    # around the middleware (django.request's 4xx/5xx lines) carry the id too.
    request_id_var.set(_request_id_from(environ or {}))
    user_id_var.set("")


@receiver(request_finished, weak=False, dispatch_uid="logs-request-finished")
def _request_finished(**kwargs):
    request_id_var.set("")
    user_id_var.set("")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_var.get() or _request_id_from(request.META)
        request_id_var.set(request_id)
        request.request_id = request_id
        user = getattr(request, "user", None)
        # An anonymous visitor without a session cookie costs no query here.
        if user is not None and user.is_authenticated:
            user_id_var.set(str(user.pk))
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@before_task_publish.connect(weak=False, dispatch_uid="logs-carry-request-id")
def _carry_request_id(headers=None, **kwargs):
    if headers is not None and request_id_var.get():
        headers.setdefault("request_id", request_id_var.get())
        headers.setdefault("user_id", user_id_var.get())


_task_tokens: dict[str, list[contextvars.Token]] = {}


@task_prerun.connect(weak=False, dispatch_uid="logs-task-context")
def _enter_task(task_id=None, task=None, **kwargs):
    request = task.request
    tokens = [task_id_var.set(task_id or "")]
    # Eager tasks run inside the request: its context is already there.
    if not request.is_eager:
        tokens.append(request_id_var.set(getattr(request, "request_id", None) or ""))
        tokens.append(user_id_var.set(getattr(request, "user_id", None) or ""))
    _task_tokens[task_id] = tokens
    # One line per task start, with the ids above: where a request's work continues.
    logger.info("task %s started", task.name)


@task_postrun.connect(weak=False, dispatch_uid="logs-task-context-end")
def _leave_task(task_id=None, **kwargs):
    for token in reversed(_task_tokens.pop(task_id, [])):
        token.var.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = user_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "user_id", "task_id"):
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
