"""Small bar charts as SVG geometry, computed here and drawn by a template macro (no
JavaScript, no inline style: presentation attributes only)."""

from __future__ import annotations

from dataclasses import dataclass, field

COLORS = {"accepted": "#1f5fae", "delivered": "#2e7d32", "failed": "#c62828"}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    color: str
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(slots=True)
class Chart:
    label: str
    width: int = 720
    height: int = 140
    base: int = 124
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)


def grouped_bars(label: str, slots: list[str], series: dict[str, list[int]]) -> Chart:
    """Bars per slot (hours), one per series side by side, scaled to the tallest."""
    chart = Chart(label)
    peak = max([1, *(v for values in series.values() for v in values)])
    slot_width = chart.width / max(1, len(slots))
    bar_width = max(1.0, (slot_width - 2) / max(1, len(series)))
    for index, slot in enumerate(slots):
        left = index * slot_width + 1
        for offset, (name, values) in enumerate(series.items()):
            value = values[index]
            height = round(value / peak * (chart.base - 6), 1)
            chart.bars.append(
                Bar(
                    x=round(left + offset * bar_width, 1),
                    y=round(chart.base - height, 1),
                    w=round(bar_width - 0.5, 1),
                    h=height,
                    color=COLORS.get(name, "#607d8b"),
                    title=f"{slot}: {value} {name}",
                )
            )
        if index % 3 == 0:
            chart.ticks.append(Tick(round(left + slot_width / 2, 1), slot[-5:-3]))
    return chart
