"""Small hand-written SVG charts: a line chart, horizontal bars and a scatter plot.

Each returns `Markup` (safe to drop into an autoescaped template) and escapes every label itself:
labels can come from configuration or model output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
           "#4b5563")
FLAT_COLOR = "#6b7280"
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _open(title: str, width: int, height: int) -> str:
    return (f'<svg class="chart" style="max-width: {width}px" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{escape(title)}" {FONT}><title>{escape(title)}</title>')


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (x, y); x is a position on the shared axis
    color: str
    dashed: bool = False


def _scale(low: float, high: float, out_low: float, out_high: float) -> Callable[[float], float]:
    if high == low:  # a constant: draw it in the middle
        return lambda _: (out_low + out_high) / 2
    return lambda v: out_low + (v - low) / (high - low) * (out_high - out_low)


def _bounds(values: Sequence[float], pad: float = 0.08) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = (high - low) * pad or abs(high) * 0.01 or 1.0
    return low - margin, high + margin


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def line_chart(series: Sequence[Series], x_labels: Sequence[tuple[float, str]], *,
               y_format: Callable[[float], str], title: str, width: int = 860,
               height: int = 300) -> Markup:
    """Lines over a shared x axis (labelled at `x_labels`), with a legend; a point is a small
    circle."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return Markup('<p class="muted">no data to chart yet</p>')
    left, right, top, bottom = 70, 150, 12, 28
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    sx = _scale(min(xs), max(xs), left, width - right)
    y_low, y_high = _bounds(ys)
    sy = _scale(y_low, y_high, height - bottom, top)
    parts = [_open(title, width, height)]
    for tick in _ticks(y_low, y_high):
        y = sy(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#6b7280">'
                     f"{escape(y_format(tick))}</text>")
    for x, label in x_labels:
        parts.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{height - bottom}" '
                     f'stroke="#f3f4f6"/>'
                     f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'fill="#6b7280">'
                     f"{escape(label)}</text>")
    for index, s in enumerate(drawn):
        path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                        for i, (x, y) in enumerate(s.points))
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(f'<path d="{path}" fill="none" stroke="{s.color}" stroke-width="2"{dash}/>')
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{s.color}">'
                  f"<title>{escape(s.name)}: {escape(y_format(y))}</title></circle>"
                  for x, y in s.points]
        legend_y = top + 14 + index * 16
        parts.append(f'<line x1="{width - right + 10}" x2="{width - right + 28}" '
                     f'y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{s.color}" '
                     f'stroke-width="3"{dash}/>'
                     f'<text x="{width - right + 33}" y="{legend_y}">{escape(s.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: Sequence[tuple[str, float]], *, value_format: Callable[[float], str],
              title: str, width: int = 860) -> Markup:
    """Horizontal bars, one row per label, longest first as given."""
    if not bars:
        return Markup('<p class="muted">nothing to chart</p>')
    row, label_width, value_width = 22, 230, 110
    height = row * len(bars) + 8
    top = max((v for _, v in bars), default=0) or 1
    parts = [_open(title, width, height)]
    for i, (label, value) in enumerate(bars):
        y = 4 + i * row
        length = max(0.0, value / top * (width - label_width - value_width))
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<text x="{label_width - 8}" y="{y + 14}" text-anchor="end">'
                     f'{escape(label)}</text>'
                     f'<path d="M{label_width},{y + 3}h{length:.1f}v14h{-length:.1f}z" '
                     f'fill="{color}"/>'
                     f'<text x="{label_width + length + 6:.1f}" y="{y + 14}" fill="#374151">'
                     f"{escape(value_format(value))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # shown on hover
    color: str


def scatter(dots: Sequence[Dot], *, x_title: str, y_title: str, x_format: Callable[[float], str],
            y_format: Callable[[float], str], title: str, width: int = 560,
            height: int = 340) -> Markup:
    if not dots:
        return Markup('<p class="muted">no settled week with peer-review scores yet</p>')
    left, right, top, bottom = 70, 16, 12, 44
    x_low, x_high = _bounds([d.x for d in dots])
    y_low, y_high = _bounds([d.y for d in dots] + [0.0])
    sx, sy = _scale(x_low, x_high, left, width - right), _scale(y_low, y_high, height - bottom, top)
    parts = [_open(title, width, height)]
    for tick in _ticks(y_low, y_high):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(tick):.1f}" '
                     f'y2="{sy(tick):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end" '
                     f'fill="#6b7280">{escape(y_format(tick))}</text>')
    for tick in _ticks(x_low, x_high):
        parts.append(f'<text x="{sx(tick):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'fill="#6b7280">'
                     f"{escape(x_format(tick))}</text>")
    parts.append(f'<path d="M{left},{sy(0):.1f}H{width - right}" stroke="#9ca3af" '
                 f'stroke-dasharray="3 3"/>'
                 f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">'
                 f"{escape(x_title)}</text>"
                 f'<text transform="translate(14 {(top + height - bottom) / 2}) rotate(-90)" '
                 f'text-anchor="middle">'
                 f"{escape(y_title)}</text>")
    parts += [f'<circle cx="{sx(d.x):.1f}" cy="{sy(d.y):.1f}" r="5" fill="{d.color}" '
              f'fill-opacity="0.8">'
              f"<title>{escape(d.label)}</title></circle>" for d in dots]
    parts.append("</svg>")
    return Markup("".join(parts))
