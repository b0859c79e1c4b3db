"""The receipt of a paid funding as a PDF: the same figures as the receipt page, for the
employer's books (downloaded from the page or with an API token)."""

from django.http import Http404, HttpResponse
from django.utils import timezone

from marketplace.core.money import format_money
from marketplace.core.pdf import text_document

from .models import Funding

PDF = "application/pdf"


def receipt_lines(funding: Funding) -> list[str]:
    """What the receipt says, line by line (the receipt page's content)."""
    assignment = funding.assignment
    paid_at = timezone.localtime(funding.paid_at).strftime("%d %b %Y, %H:%M %Z")
    lines = [
        f"{funding.employer.name} paid for “{assignment.posting.title}” "
        f"(student: {assignment.student.display_name}) on {paid_at}.",
    ]
    if funding.provider == "test":
        lines.append("Test mode: no real money moved.")
    lines.append("")
    for milestone in assignment.milestones.order_by("position", "id"):
        if milestone.amount:
            lines.append(f"{milestone.title}: {format_money(milestone.amount, funding.currency)}")
    lines += [
        f"Platform fee ({funding.fee_percent}%): "
        f"{format_money(funding.fee_amount, funding.currency)}",
        f"Total paid: {format_money(funding.total_amount, funding.currency)}",
    ]
    refunds = list(funding.refunds.order_by("created_at"))
    if refunds:
        lines += ["", "Refunds:"]
        lines += [
            f"{format_money(r.amount, r.currency)}: {r.get_reason_display()} "
            f"({r.get_status_display().lower()})"
            for r in refunds
        ]
    lines += ["", f"Payment reference: {funding.payment_intent_id or '-'}"]
    return lines


def receipt_pdf_response(funding: Funding) -> HttpResponse:
    """The receipt as a PDF download; there is none before the payment clears (404)."""
    if funding.status != Funding.Status.PAID:
        raise Http404("There is no receipt before the payment clears.")
    title = f"Receipt #{funding.pk}"
    response = HttpResponse(text_document(title, receipt_lines(funding)), content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="receipt-{funding.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
