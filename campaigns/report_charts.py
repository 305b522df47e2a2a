"""The report's charts as inline SVG, drawn by pygal.

pygal over matplotlib: it is pure Python and writes SVG directly (no native build, no font
cache, no rasteriser), so the charts cost one small dependency and render the same on every
machine; its output is text that sits inside the HTML page as it is. The page must stay one
self-contained file that needs no script (``duecall report --html``, see the README's "Reports
and exports"), so the SVG is rendered with pygal's script list emptied (by default it links its
tooltip script from a CDN), without the XML declaration, and with its comments (links to pygal's
site) and the namespace attribute (not needed inline in HTML) left out: the page then names no
address at all. pygal writes one ``<script>`` (its tooltips' settings) whatever ``js`` says; an
XML filter (pygal's own hook on the tree before it is written) takes it out with the comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

#: Counts up to this are labelled one by one on the y axis (no "0.5 calls").
_SMALL_COUNT = 10


@dataclass(frozen=True)
class Series:
    """One series of a chart: its title (the legend) and a value per x label (None: no value,
    e.g. a service level in an hour without calls)."""

    title: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A bar chart of the report: a bar per x label and series. Its table equivalent is the
    section it belongs to; ``empty`` is what the page says instead of drawing it when there is
    nothing to draw (:attr:`has_data`)."""

    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]
    y_title: str = ""
    empty: str = "nothing to chart"
    #: The top of the y axis (a percentage chart: 100); None: pygal's scale.
    y_max: float | None = None
    #: Whether a zero is a figure to show (a service level of 0 %) rather than nothing (no
    #: calls): with it, any value that is not None makes the chart worth drawing.
    zero_is_figure: bool = False

    @property
    def has_data(self) -> bool:
        values = [v for series in self.series for v in series.values if v is not None]
        return bool(values) if self.zero_is_figure else any(v > 0 for v in values)

    @property
    def y_labels(self) -> list[int] | None:
        """Whole numbers for a chart of small counts; None lets pygal choose."""
        if self.y_max is not None or self.zero_is_figure:
            return None
        top = max((v for s in self.series for v in s.values if v is not None), default=0)
        if top > _SMALL_COUNT or top != int(top):
            return None
        return list(range(int(top) + 1))


_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#222",
    foreground_subtle="#888",
    font_family="system-ui, sans-serif",
    colors=("#3367d6", "#e8710a", "#188038", "#a142f4", "#d93025", "#12a4af"),
)


def _self_contained(root: Any) -> Any:
    """pygal's tree without its scripts, comments and namespace declarations (an XML filter)."""
    for parent in list(root.iter()):
        for child in list(parent):
            # A comment's (or processing instruction's) tag is a function, not a name.
            if not isinstance(child.tag, str) or child.tag == "script":
                parent.remove(child)
    for name in [name for name in root.attrib if name.startswith("xmlns")]:
        del root.attrib[name]
    return root


def chart_svg(chart: Chart) -> str:
    """``chart`` as one ``<svg>`` element, ready to sit inline in an HTML page."""
    drawing = pygal.Bar(
        style=_STYLE,
        js=[],
        disable_xml_declaration=True,
        explicit_size=True,
        width=760,
        height=320,
        title=chart.title,
        y_title=chart.y_title or None,
        x_labels=list(chart.x_labels),
        legend_at_bottom=True,
        print_values=False,
        allow_interruptions=True,
        include_x_axis=True,
        range=(0, chart.y_max) if chart.y_max is not None else None,
        y_labels=chart.y_labels,
        show_minor_x_labels=True,
    )
    drawing.add_xml_filter(_self_contained)
    for series in chart.series:
        drawing.add(series.title, list(series.values))
    return str(drawing.render(is_unicode=True))
