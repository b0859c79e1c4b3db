"""Bar charts drawn on the server as SVG, each with its text alternative.

No chart library and no JavaScript: a chart is a ``BarChart`` (the figures, already formatted
for people) turned into an inline ``<svg>`` by ``bar_chart_svg``. The SVG scales to the width
of its box (``viewBox``; labels sized for a 320 px phone), is ``role="img"`` with a ``<title>``
and a ``<desc>`` that says what it shows, and ``templates/includes/chart.html`` puts beside it
a caption and the same figures as a table (in a ``<details>``), so nothing is only a picture.

Colours are the site's: the bars in the brand blue (6:1 against white, well above the 3:1
needed for graphics), the text in the body ink. Every bar carries its figure as text, so
nothing is told by colour or height alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 320
HEIGHT = 150
TOP = 16  # room for the figure above the tallest bar
BOTTOM = 20  # room for the labels under the bars
SIDE = 4
BAR_FILL = "#0b5cad"
INK = "#1b1f24"
LINE = "#8c959f"


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar, short: "Nov", "3 Nov"
    long_label: str  # in the description and the table: "November 2026"
    value: float  # in the chart's unit (minor units, hours, a count); sets the height
    short_text: str  # above the bar: "300", "5 h"
    text: str  # in the table: "300.00 USD", "5.0 hours"


@dataclass(frozen=True)
class BarChart:
    key: str  # unique in the page: the ids of the title and description derive from it
    title: str
    summary: str  # one or two sentences a reader who cannot see the bars needs
    bars: tuple[Bar, ...]
    label_heading: str  # the table's first column: "Month", "Week of"
    value_heading: str  # the table's second column: "Paid", "Applicants"
    empty_text: str = "Nothing to show yet."
    y_max: float | None = None  # a shared scale for charts shown side by side

    @property
    def empty(self) -> bool:
        """No bars: there is nothing to draw (builders leave them out when nothing happened;
        a row of zero-height bars would look like a broken picture)."""
        return not self.bars

    @property
    def svg(self) -> SafeString:
        return bar_chart_svg(self)


def highest(bars: Sequence[Bar]) -> Bar | None:
    """The bar with the largest value (the first of equals), or None when all are zero."""
    best = max(bars, key=lambda bar: bar.value, default=None)
    if best is None or not best.value:
        return None
    return next(bar for bar in bars if bar.value == best.value)


def bar_chart_svg(chart: BarChart) -> SafeString:
    """The chart as an inline ``<svg>``: one bar per period, its figure above, its label under."""
    count = max(len(chart.bars), 1)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - 2 * SIDE) / count
    bar_width = min(slot * 0.7, 40)
    scale_max = max(chart.y_max or 0, *(bar.value for bar in chart.bars), 0)
    baseline = TOP + plot_height
    parts = []
    for index, bar in enumerate(chart.bars):
        centre = SIDE + slot * index + slot / 2
        height = plot_height * bar.value / scale_max if scale_max else 0
        if bar.value and height < 1:
            height = 1  # a small non-zero figure still shows a sliver
        parts.append(
            format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
                '<text class="chart-value" x="{}" y="{}" text-anchor="middle" font-size="10" '
                'fill="{}">{}</text>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="middle" font-size="10" '
                'fill="{}">{}</text>',
                _n(centre - bar_width / 2),
                _n(baseline - height),
                _n(bar_width),
                _n(height),
                BAR_FILL,
                _n(centre),
                _n(baseline - height - 3),
                INK,
                bar.short_text,
                _n(centre),
                _n(HEIGHT - 6),
                INK,
                bar.label,
            )
        )
    return format_html(
        '<svg class="chart-svg" viewBox="0 0 {} {}" role="img" aria-labelledby="{} {}" '
        'focusable="false" preserveAspectRatio="xMidYMid meet">'
        '<title id="{}">{}</title><desc id="{}">{}</desc>'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"></line>{}</svg>',
        WIDTH,
        HEIGHT,
        f"{chart.key}-title",
        f"{chart.key}-desc",
        f"{chart.key}-title",
        chart.title,
        f"{chart.key}-desc",
        chart.summary,
        SIDE,
        WIDTH - SIDE,
        _n(baseline),
        _n(baseline),
        LINE,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def _n(value: float) -> str:
    """A coordinate with at most one decimal: the SVG stays short and the same on every run."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text
