"""``/webhooks/stripe/``: platform and Connect events.

The signature is checked on the raw body (400 when it, or its timestamp, does not check out); the
event is stored once by its id (a duplicate answers 200 and does nothing) and handed to a task
after commit; the answer goes back at once. Unknown types are stored and answered 200 too.
"""

import logging

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .providers import get_provider
from .providers.base import InvalidSignature

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    provider = get_provider()
    try:
        event = provider.event_parse(
            payload=request.body, signature=request.headers.get("Stripe-Signature", "")
        )
    except InvalidSignature as exc:
        logger.warning("Webhook refused: %s", exc)
        return HttpResponse("invalid signature", status=400, content_type="text/plain")
    if not event.id or not event.type:
        return HttpResponse("not an event", status=400, content_type="text/plain")
    with transaction.atomic():
        row, created = services.webhook_event_record(provider_name=provider.name, event=event)
    return JsonResponse({"received": True, "duplicate": not created})
