"""Drawing a forest plot with matplotlib: one row per median, its interval, NE/NR bounds open-ended.

Every artist of a row carries an SVG id (`marker-N`, `interval-N`, `label-N`, `value-N`) and a link
(the marker and label to the study page, the value to the measurement with its source), so the SVG can
be navigated and tested. Text is kept as SVG text (not paths): searchable and accessible.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display: the service only writes files

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from service.forest import ForestRow  # noqa: E402

COLOURS = {"95% CI": "#1f4e79", "range": "#c55a11", "IQR": "#548235"}
NO_INTERVAL = "#7f7f7f"
KIND_TITLES = {
    "pivotal": "Pivotal studies",
    "supportive": "Supportive studies",
    "long-term-follow-up": "Long-term follow-up",
    "retrospective": "Retrospective analyses",
    "single-centre": "Single-centre studies",
    "country-specific": "Country- or ethnicity-specific studies",
    "real-world": "Real-world evidence",
}
ROW_INCHES = 0.27
LABEL_CHARS = 78
LEFT, RIGHT = 0.47, 0.83  # the plotting area, as fractions of the figure's width
WIDTH_INCHES = 15.0


def _axis_limit(rows: Sequence[ForestRow]) -> float:
    """A round upper limit covering the estimates; bounds far beyond it are drawn clipped, as arrows."""
    estimates = [r.estimate for r in rows if r.estimate is not None]
    bounds = [b for r in rows for b in (r.lower, r.upper) if b is not None]
    top = max(estimates + bounds, default=12.0)
    cap = max(max(estimates, default=12.0) * 1.6, 24.0)
    step = 6.0
    return max(step, math.ceil(min(top, cap) * 1.04 / step) * step)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def figure(rows: Sequence[ForestRow], title: str, endpoint: str) -> Figure:
    """The forest plot of `rows` (already in plot order) under group headings by evidence kind."""
    lines: list[tuple[str, ForestRow | str]] = []
    kind = None
    for row in rows:
        if row.evidence_kind != kind:
            kind = row.evidence_kind
            lines.append(("heading", KIND_TITLES.get(kind, kind)))
        lines.append(("row", row))
    height = max(2.4, ROW_INCHES * max(len(lines), 1) + 1.5)
    fig = Figure(figsize=(WIDTH_INCHES, height), dpi=100)
    top = 1 - 0.75 / height
    bottom = 0.75 / height
    ax = fig.add_axes((LEFT, bottom, RIGHT - LEFT, top - bottom))
    limit = _axis_limit(rows)
    ax.set_xlim(0, limit)
    ax.set_ylim(max(len(lines), 1) - 0.5, -0.5)
    ax.set_yticks([])
    ax.set_xlabel(f"median {endpoint} (months)")
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    text_at = blended_transform_factory(fig.transFigure, ax.transData)
    header_y = -0.9
    fig.text(0.01, 1 - 0.3 / height, title, fontsize=12, fontweight="bold", va="center")
    columns = ((0.01, "left", "study / cohort"), (LEFT - 0.01, "right", "n"), (RIGHT + 0.01, "left", "median (interval)"))
    for x, ha, heading in columns if rows else ():
        ax.text(x, header_y, heading, transform=text_at, ha=ha, va="center", fontsize=9, color="#555555", clip_on=False)
    index = 0
    for y, (_, item) in enumerate(lines):
        if isinstance(item, str):
            ax.text(0.01, y, item, transform=text_at, ha="left", va="center", fontsize=9.5, fontweight="bold", clip_on=False)
            ax.axhspan(y - 0.5, y + 0.5, color="#f2f2f2", zorder=0)
            continue
        _draw_row(ax, text_at, index, y, item, limit)
        index += 1
    if not rows:
        ax.text(limit / 2, 0, "no median matches these filters", ha="center", va="center", color="#555555")
    _legend(fig, height)
    return fig


def _draw_row(ax, text_at, index: int, y: float, row: ForestRow, limit: float) -> None:  # type: ignore[no-untyped-def]
    colour = COLOURS.get(row.interval or "", NO_INTERVAL)
    study = row.study_href or None
    label = ax.text(0.02, y, _short(row.label), transform=text_at, ha="left", va="center", fontsize=8.5, clip_on=False)
    label.set_gid(f"label-{index}")
    label.set_url(study)
    n = ax.text(LEFT - 0.01, y, "" if row.n is None else str(row.n), transform=text_at, ha="right", va="center", fontsize=8.5)
    n.set_clip_on(False)
    kind = f"  {row.interval}" if row.interval and row.estimate is not None else ""
    value = ax.text(RIGHT + 0.01, y, row.estimate_text() + kind, transform=text_at, ha="left", va="center", fontsize=8.5, clip_on=False)
    value.set_gid(f"value-{index}")
    value.set_url(row.source_href)
    if row.estimate is None and row.estimate_status != "NR":
        return  # no median to place: the value column says why
    low, high, open_low, open_high = _extent(row, limit)
    if low is not None and high is not None and high > low:
        (segment,) = ax.plot([low, high], [y, y], color=colour, linewidth=1.6, solid_capstyle="butt")
        segment.set_gid(f"interval-{index}")
        for x, is_open, marker in ((low, open_low, "<"), (high, open_high, ">")):
            if is_open:
                (arrow,) = ax.plot([x], [y], marker=marker, color=colour, markersize=6, clip_on=False, linestyle="none")
                arrow.set_gid(f"open-{index}")
            else:
                ax.plot([x, x], [y - 0.18, y + 0.18], color=colour, linewidth=1.2)
    if row.estimate is not None:
        size = 4.5 + 0.9 * math.sqrt(row.n or 16) ** 0.5 * 2
        (marker,) = ax.plot([min(row.estimate, limit)], [y], marker="s", color=colour, markersize=min(size, 11), linestyle="none", zorder=3)
        marker.set_gid(f"marker-{index}")
        marker.set_url(study)


OPEN_STATES = ("NE", "NR")  # not estimable / not reached: the bound lies beyond what was observed


def _extent(row: ForestRow, limit: float) -> tuple[float | None, float | None, bool, bool]:
    """Where the interval line runs: an NE/NR bound (or one beyond the axis) runs open to the edge of the plot;
    a bound the review does not report is not drawn at all (the line stops at the median)."""
    if row.estimate is None:  # median not reached: from the lower bound (if any) to the edge
        return (row.lower if row.lower is not None else None), limit, False, True
    if row.interval is None:
        return None, None, False, False
    open_low = row.lower is None and row.lower_status in OPEN_STATES
    open_high = (row.upper is None and row.upper_status in OPEN_STATES) or (row.upper is not None and row.upper > limit)
    low = 0.0 if open_low else (row.lower if row.lower is not None else row.estimate)
    high = limit if open_high else (row.upper if row.upper is not None else row.estimate)
    return low, high, open_low, open_high


def _legend(fig: Figure, height: float) -> None:
    handles = [Line2D([], [], color=c, marker="s", linewidth=1.6, label=k) for k, c in COLOURS.items()]
    handles.append(Line2D([], [], color=NO_INTERVAL, marker="s", linestyle="none", label="no interval printed"))
    handles.append(Line2D([], [], color="#333333", marker=">", linewidth=1.6, label="NE / NR / off-scale bound"))
    legend = fig.legend(handles=handles, loc="center right", bbox_to_anchor=(0.99, 1 - 0.3 / height), ncol=5, fontsize=8, frameon=False)
    legend.set_gid("legend")


def render(fig: Figure, fmt: str) -> bytes:
    """SVG (text kept as text, ids and links kept) or PNG bytes."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "evidence-kg"}):
        fig.savefig(buffer, format=fmt, dpi=110 if fmt == "png" else None, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()
