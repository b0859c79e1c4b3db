"""The plain-text PDF writer: a readable file (objects where the cross-reference table says),
its text as given (escaped, in WinAnsi), wrapped and paged."""

import re

from marketplace.core.pdf import LINES_PER_PAGE, WRAP_AT, text_document


def _objects(body: bytes) -> dict[int, bytes]:
    xref = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", body).group(1))
    count = int(re.match(rb"xref\n0 (\d+)\n", body[xref:]).group(1))
    entries = body[xref:].split(b"\n")[3 : 2 + count]
    objects = {}
    for number, entry in enumerate(entries, start=1):
        start = int(entry[:10])
        assert body[start:].startswith(b"%d 0 obj\n" % number)
        objects[number] = body[start : body.index(b"endobj", start)]
    return objects


def _strings(body: bytes) -> list[bytes]:
    return re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", body)


def test_a_short_document_is_one_page_with_its_text_escaped():
    body = text_document("Receipt #7", ["Total (incl. fee): 12.50 €", r"a\b", "“Logo” 日本"])
    objects = _objects(body)
    assert b"/Count 1" in objects[2] and len(objects) == 6
    assert _strings(body) == [
        b"Receipt #7",
        b"Total \\(incl. fee\\): 12.50 \x80",  # the euro sign is 0x80 in WinAnsi
        b"a\\\\b",
        b"\x93Logo\x94 ??",  # outside WinAnsi: a question mark
    ]
    stream = objects[6]
    length = int(re.search(rb"/Length (\d+)", stream).group(1))
    assert stream.index(b"endstream") - stream.index(b"stream\n") - len(b"stream\n") == length + 1


def test_long_lines_wrap_and_many_lines_make_more_pages():
    lines = ["word " * 40] + [f"line {n}" for n in range(LINES_PER_PAGE + 5)]
    body = text_document("Long", lines)
    objects = _objects(body)
    assert b"/Count 2" in objects[2]
    strings = _strings(body)
    assert strings.count(b"Long") == 2  # the title on each page
    assert all(len(s) <= WRAP_AT for s in strings)
    assert strings[-1] == b"line %d" % (LINES_PER_PAGE + 4)
