"""The KPI chart as hand-written SVG: no script, no library, nothing fetched.

One slot per KPI rate, one bar per row of the KPI table (the company, or each agent or
technician) from 0 to 100 %, and each target of the ``[kpi]`` policy drawn as a dashed line
across its KPI's slot. A rate without observations has no bar and is marked "—".
"""

from __future__ import annotations

from html import escape

from domain import kpi
from domain.targets import KpiTargets

PALETTE = ("#2f6fb3", "#e08a1e", "#3b9a57", "#8a4fb5", "#c4453c", "#1f9aa0", "#8c6d3a", "#d4599a")
TARGET_COLOUR = "#d62728"
WIDTH, HEIGHT = 960, 420
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 48, 96


def _y(value: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value)


def kpi_chart(rows: list[kpi.KpiRow], targets: KpiTargets, locale: str = "zh-CN", title: str = "") -> str:
    labels = kpi.LABELS.get(locale, kpi.LABELS["en"])
    slot = (WIDTH - LEFT - RIGHT) / len(kpi.RATES)
    bar = min(36.0, (slot - 16) / max(len(rows), 1))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="sans-serif" font-size="12" role="img" aria-label="{escape(title or "KPI")}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(0, 101, 20):  # the 0–100 % scale
        y = _y(tick / 100)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dddddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555555">{tick}%</text>')
    for i, name in enumerate(kpi.RATES):
        x0 = LEFT + i * slot
        start = x0 + (slot - bar * len(rows)) / 2
        for j, row in enumerate(rows):
            value = row.value(name)
            x = start + j * bar
            colour = PALETTE[j % len(PALETTE)]
            if value is None:
                parts.append(f'<text x="{x + bar / 2:.1f}" y="{_y(0) - 4:.1f}" text-anchor="middle" fill="#999999">—</text>')
                continue
            rate = row.rates[name]
            parts.append(
                f'<rect class="bar" data-kpi="{name}" data-group="{escape(row.group)}" x="{x + 1:.1f}" '
                f'y="{_y(value):.1f}" width="{bar - 2:.1f}" height="{_y(0) - _y(value):.1f}" fill="{colour}">'
                f"<title>{escape(row.group)} · {escape(labels[name])}: {value:.1%} ({rate.hits}/{rate.total})</title></rect>"
            )
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{_y(value) - 4:.1f}" text-anchor="middle" font-size="10">{value:.0%}</text>')
        target = targets.of(name)
        if target is not None:
            y = _y(target)
            parts.append(
                f'<line class="target" data-kpi="{name}" data-target="{target}" x1="{x0 + 4:.1f}" y1="{y:.1f}" '
                f'x2="{x0 + slot - 4:.1f}" y2="{y:.1f}" stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 3"/>'
            )
        parts.append(
            f'<text x="{x0 + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(labels[name])}</text>'
        )
    legend_y = HEIGHT - 40
    for j, row in enumerate(rows[: len(PALETTE) * 2]):
        x = LEFT + (j % 8) * 110
        y = legend_y + (j // 8) * 16
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}">{escape(row.group[:14])}</text>')
    target_label = "目标" if locale == "zh-CN" else "target"
    parts.append(
        f'<line x1="{WIDTH - 140}" y1="30" x2="{WIDTH - 110}" y2="30" stroke="{TARGET_COLOUR}" stroke-width="2" stroke-dasharray="6 3"/>'
        f'<text x="{WIDTH - 104}" y="34">{target_label}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
