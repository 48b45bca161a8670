"""Shared by the benchmarks: a line chart of time series as an SVG file,
with no library beyond Python's own."""

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def line_chart(path, title, xlabel, ylabel, series):
    """series: (label, [(x, y), ...], dashed) per line, drawn in order,
    each labelled in its colour at the top left. Axes from 0 to the
    largest x and y."""
    w, h, pad = 760, 380, 60
    series = [s for s in series if s[1]]
    if not series:
        return
    xmax = max(x for _, pts, _ in series for x, _ in pts) or 1
    ymax = max(y for _, pts, _ in series for _, y in pts) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="18" text-anchor="middle">{title}</text>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - 20}" y2="{h - pad}" stroke="black"/>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{pad}" y2="30" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">{xlabel} (0 to {xmax:.0f})</text>',
           f'<text x="15" y="{h / 2}" transform="rotate(-90 15 {h / 2})" text-anchor="middle">{ylabel} (max {ymax:.0f})</text>']
    for i, (label, pts, dashed) in enumerate(series):
        line = " ".join(f"{pad + x / xmax * (w - pad - 20):.1f},{h - pad - y / ymax * (h - pad - 30):.1f}"
                        for x, y in pts)
        c = COLORS[i % len(COLORS)]
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.5"{dash} points="{line}"/>')
        out.append(f'<text x="{pad + 10}" y="{45 + 15 * i}" fill="{c}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def bar_chart(path, title, names, groups, one_scale=False):
    """Grouped bars: groups is (label, [value per name]) in order, one bar
    per name in each (None: no bar), the names' colours in a legend.
    Each group is scaled to its own largest value (groups may measure
    different things), or, one_scale, all to the largest of all (they
    measure the same); every bar carries its value."""
    w, h, pad = 760, 380, 60
    per = len(names) + 1
    bw = (w - 2 * pad) / (len(groups) * per)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="12">{title}</text>',
           f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="black"/>']
    everything = max((v for _, vs in groups for v in vs if v is not None), default=0) or 1
    for g, (label, values) in enumerate(groups):
        top = everything if one_scale else max((v for v in values if v is not None), default=0) or 1
        for i, v in enumerate(values):
            if v is None:
                continue
            bh = (h - 2 * pad - 20) * v / top
            x = pad + (g * per + i) * bw
            out.append(f'<rect x="{x:.1f}" y="{h - pad - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                       f'fill="{COLORS[i % len(COLORS)]}"/>')
            out.append(f'<text x="{x + bw / 2:.1f}" y="{h - pad - bh - 3:.1f}" text-anchor="middle">{v:.0f}</text>')
        out.append(f'<text x="{pad + (g * per + len(names) / 2) * bw:.1f}" y="{h - pad + 15}" '
                   f'text-anchor="middle">{label}</text>')
    for i, name in enumerate(names):
        out.append(f'<text x="{pad + 160 * i}" y="{h - 15}" fill="{COLORS[i % len(COLORS)]}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
