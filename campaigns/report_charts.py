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
from typing import Any, Literal

import pygal
from pygal.style import Style

#: What a chart plots: a bar per hour (or per label), or a line joining the hours.
ChartKind = Literal["bar", "line"]


@dataclass(frozen=True)
class Series:
    """One series of a chart: its title (the legend) and a value per x label (None: no value,
    e.g. a service level in an hour without calls)."""

    title: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A chart of the report. Its table equivalent is the section it belongs to; ``empty`` is
    what the page says instead of drawing it when there is nothing to draw (:attr:`has_data`)."""

    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]
    y_title: str = ""
    kind: ChartKind = "bar"
    empty: str = "nothing to chart"
    #: The highest value the y axis shows at least (a percentage chart: 100).
    y_max: float | None = None

    @property
    def has_data(self) -> bool:
        """A bar chart has data when a bar is above zero; a line chart when a point exists (a
        service level of 0 % is a point to show)."""
        values = [v for series in self.series for v in series.values if v is not None]
        return bool(values) if self.kind == "line" else any(v > 0 for v in values)


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
    kind = pygal.Line if chart.kind == "line" else pygal.Bar
    drawing = kind(
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
        show_minor_x_labels=True,
    )
    drawing.add_xml_filter(_self_contained)
    for series in chart.series:
        drawing.add(series.title, list(series.values))
    return str(drawing.render(is_unicode=True))
