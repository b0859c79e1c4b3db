"""A plain-text PDF document (receipts): a title and lines of text on A4 pages.

Small on purpose: PDF 1.4 with the standard Helvetica font, which every reader has, so nothing is
embedded and no PDF library is needed. Text is written in the font's WinAnsi encoding (Latin
letters, the euro sign, typographic quotes); a character outside it is written as ``?``. Long
lines are wrapped; a page holds ``LINES_PER_PAGE`` lines and more make more pages.
"""

import textwrap

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
FONT_SIZE, LEADING = 11, 15
TITLE_SIZE = 16
WRAP_AT = 85  # characters of Helvetica 11 pt that fit between the margins
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING - 2  # the title takes two


def _text(value: str) -> bytes:
    """A PDF string literal in WinAnsi encoding (cp1252 is the same for the printable range)."""
    raw = value.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _wrapped(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, WRAP_AT) or [""])
    return out


def _page_content(title: str, lines: list[str]) -> bytes:
    top = PAGE_HEIGHT - MARGIN
    parts = [
        b"BT",
        b"/F1 %d Tf %d %d Td " % (TITLE_SIZE, MARGIN, top) + _text(title) + b" Tj",
        b"/F1 %d Tf %d TL 0 -%d Td" % (FONT_SIZE, LEADING, 2 * LEADING),
    ]
    parts += [_text(line) + b" Tj T*" for line in lines]
    parts.append(b"ET")
    return b"\n".join(parts)


def text_document(title: str, lines: list[str]) -> bytes:
    """The PDF bytes: ``title`` at the top of every page, then ``lines`` in order."""
    body = _wrapped(lines)
    pages = [body[i : i + LINES_PER_PAGE] for i in range(0, len(body), LINES_PER_PAGE)] or [[]]
    # Objects: 1 catalog, 2 page tree, 3 font, 4 info, then a page and its content per page.
    page_ids = [5 + 2 * n for n in range(len(pages))]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % pid for pid in page_ids), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + _text(title) + b" /Producer (marketplace) >>",
    ]
    for page_id, page_lines in zip(page_ids, pages, strict=True):
        content = _page_content(title, page_lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, page_id + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
