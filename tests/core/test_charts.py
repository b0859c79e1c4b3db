"""The SVG bar charts: the figures drawn are the data, the heights follow the values, and the
chart names itself to assistive technology."""

import re
import xml.etree.ElementTree as ET

from django.template.loader import render_to_string

from marketplace.core.charts import HEIGHT, Bar, BarChart, bar_chart_svg, highest

SVG = "{http://www.w3.org/2000/svg}"


def _bars(values):
    return tuple(
        Bar(label=f"M{i}", long_label=f"Month {i}", value=v, short_text=str(v), text=f"{v} USD")
        for i, v in enumerate(values)
    )


def _chart(values, **kwargs):
    defaults = {
        "key": "chart-test",
        "title": "Paid per month",
        "summary": "Paid 60 in all.",
        "bars": _bars(values),
        "label_heading": "Month",
        "value_heading": "Paid",
    }
    return BarChart(**{**defaults, **kwargs})


def _parse(chart):
    # The SVG is inline HTML; parsed as XML with its namespace it must be well formed.
    svg = str(bar_chart_svg(chart)).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    return ET.fromstring(svg)


def test_each_bar_shows_its_figure_and_label():
    root = _parse(_chart([10, 0, 50]))
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-value"]
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert values == ["10", "0", "50"]
    assert labels == ["M0", "M1", "M2"]


def test_heights_are_proportional_to_the_values_and_share_a_baseline():
    root = _parse(_chart([10, 0, 50, 25]))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == 0
    assert heights[2] == max(heights)
    assert abs(heights[0] / heights[2] - 10 / 50) < 0.01
    assert abs(heights[3] / heights[2] - 25 / 50) < 0.01
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 1) for r in rects}
    assert len(bottoms) == 1 and bottoms.pop() < HEIGHT


def test_a_shared_scale_keeps_small_charts_comparable():
    own = _parse(_chart([5]))
    shared = _parse(_chart([5], y_max=20))
    height = lambda root: float(next(root.iter(f"{SVG}rect")).get("height"))  # noqa: E731
    assert abs(height(shared) / height(own) - 5 / 20) < 0.01


def test_a_tiny_value_still_shows_and_the_bars_stay_inside_the_picture():
    root = _parse(_chart([1, 100_000]))
    rects = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-bar"]
    assert float(rects[0].get("height")) >= 1
    for rect in rects:
        assert float(rect.get("y")) >= 0 and float(rect.get("x")) >= 0


def test_title_and_description_name_the_image():
    svg = str(bar_chart_svg(_chart([1, 2])))
    assert 'role="img"' in svg
    assert 'aria-labelledby="chart-test-title chart-test-desc"' in svg
    assert '<title id="chart-test-title">Paid per month</title>' in svg
    assert '<desc id="chart-test-desc">Paid 60 in all.</desc>' in svg


def test_text_from_users_is_escaped():
    svg = str(bar_chart_svg(_chart([1], title="<script>x</script> & co")))
    assert "<script>" not in svg and "&lt;script&gt;x&lt;/script&gt; &amp; co" in svg


def test_empty_and_highest():
    assert _chart([]).empty and not _chart([0, 0]).empty
    assert highest(_bars([3, 7, 7])).long_label == "Month 1"
    assert highest(_bars([0, 0])) is None


def test_the_include_shows_caption_and_every_figure_as_a_table():
    html = render_to_string("includes/chart.html", {"chart": _chart([10, 0, 50])})
    assert '<figcaption class="chart-caption">Paid 60 in all.</figcaption>' in html
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', html)
    assert rows == [("Month 0", "10 USD"), ("Month 1", "0 USD"), ("Month 2", "50 USD")]
    empty = render_to_string(
        "includes/chart.html", {"chart": _chart([], empty_text="Nothing paid yet.")}
    )
    assert "Nothing paid yet." in empty and "<svg" not in empty and "<table" not in empty
