"""The receipt of a paid funding as a PDF: the same figures as the receipt page, for the
employer's books (downloaded from the page or with an API token). Written with fpdf2."""

from django.http import Http404, HttpResponse
from django.utils import timezone

from marketplace.core.money import format_money

from .models import Funding

PDF = "application/pdf"
# fpdf2's built-in Helvetica needs no font file and every PDF reader has it; it covers
# Windows-1252 (Latin letters, the euro sign, typographic quotes). Any other character (a name
# in another script) is printed as "?" rather than failing the download.
ENCODING = "windows-1252"


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


def _printable(text: str) -> str:
    return text.encode(ENCODING, errors="replace").decode(ENCODING)


def receipt_pdf(funding: Funding) -> bytes:
    """The receipt as PDF bytes: the title, then the lines, wrapped and paged by fpdf2. The
    document is dated with the payment, so the same receipt downloads as the same bytes."""
    # Imported here, not at the top: fpdf2 pulls in fontTools and Pillow (about half a second),
    # and this module is imported by every process at start-up while receipts are rare.
    from fpdf import FPDF

    title = f"Receipt #{funding.pk}"
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_creation_date(funding.paid_at)
    pdf.set_title(title)
    pdf.set_creator("marketplace")
    pdf.set_producer("marketplace")
    pdf.set_margins(20, 20)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(text=_printable(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    for line in receipt_lines(funding):
        pdf.multi_cell(w=0, h=6, text=_printable(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def receipt_pdf_response(funding: Funding) -> HttpResponse:
    """The receipt as a PDF download; there is none before the payment clears (404)."""
    if funding.status != Funding.Status.PAID:
        raise Http404("There is no receipt before the payment clears.")
    response = HttpResponse(receipt_pdf(funding), content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="receipt-{funding.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
