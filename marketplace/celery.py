"""The Celery app. Tasks are autodiscovered in each installed app's ``tasks.py``.

Settings come from Django settings with the ``CELERY_`` prefix (see ``marketplace/settings.py``).
Enqueue from inside a transaction with ``task.delay_on_commit(...)`` so that a task never runs
against rows that are not committed yet (or never will be). Every task's base class is
``marketplace.core.outbox.Task``: a message the broker does not accept is kept in the database
and sent again later, so a broker outage never turns a committed write into an error page.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace", task_cls="marketplace.core.outbox:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
