#!/usr/bin/env python3
"""Plots bench/results/latest.json (written by `raftengine-bench cluster`): commit latency
(p50, p99) and throughput against commands in flight. Uses matplotlib when it is installed;
otherwise writes a plain SVG next to the requested PNG and says so."""
import json
import math
import os
import sys


def series(data):
    out = {}
    for row in data["throughput"]:
        key = (row["host_mode"], row["command_bytes"])
        out.setdefault(key, []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r["in_flight"])
    return out


def plot_matplotlib(data, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    for (mode, size), rows in sorted(series(data).items()):
        x = [r["in_flight"] for r in rows]
        label = f"{mode}, {size} B"
        line, = ax1.plot(x, [r["latency_p50_ms"] for r in rows], marker="o", label=f"{label} p50")
        ax1.plot(x, [r["latency_p99_ms"] for r in rows], marker="x", linestyle="--", color=line.get_color(), label=f"{label} p99")
        ax2.plot(x, [r["commands_per_s"] for r in rows], marker="o", color=line.get_color(), label=label)
    floor = data["machine"]["fsync_plus_rtt_p50_ms"]
    ax1.axhline(floor, color="gray", linestyle=":", label=f"fsync p50 + RTT p50 = {floor:.3f} ms")
    for ax in (ax1, ax2):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("commands in flight at the leader")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_ylabel("commit latency (ms)")
    ax1.set_title("commit latency vs in-flight commands")
    ax2.set_ylabel("commits/s")
    ax2.set_title("commit throughput vs in-flight commands")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.suptitle(f"RaftEngine 3-node loopback cluster ({data['generated']}, {data['machine']['cores']} cores)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def plot_svg(data, svg):
    """Latency p50 vs in-flight, log-log, no dependencies."""
    w, h, m = 640, 400, 60
    groups = sorted(series(data).items())
    xs = [r["in_flight"] for _, rows in groups for r in rows]
    ys = [r["latency_p50_ms"] for _, rows in groups for r in rows if r["latency_p50_ms"]]
    lx0, lx1 = math.log2(min(xs)), math.log2(max(xs)) or 1
    ly0, ly1 = math.log10(min(ys)), math.log10(max(ys))
    if ly1 == ly0:
        ly1 = ly0 + 1
    def px(x): return m + (math.log2(x) - lx0) / (lx1 - lx0 or 1) * (w - 2 * m)
    def py(y): return h - m - (math.log10(y) - ly0) / (ly1 - ly0) * (h - 2 * m)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
             f'<text x="{w/2}" y="20" text-anchor="middle">commit latency p50 (ms, log) vs commands in flight (log)</text>']
    for i, ((mode, size), rows) in enumerate(groups):
        pts = " ".join(f"{px(r['in_flight']):.1f},{py(r['latency_p50_ms']):.1f}" for r in rows)
        parts.append(f'<polyline fill="none" stroke="{colors[i % 4]}" points="{pts}"/>')
        parts.append(f'<text x="{w - m}" y="{40 + 14 * i}" text-anchor="end" fill="{colors[i % 4]}">{mode}, {size} B</text>')
        for r in rows:
            parts.append(f'<text x="{px(r["in_flight"]):.1f}" y="{h - m + 15}" text-anchor="middle">{r["in_flight"]}</text>')
    parts.append("</svg>")
    with open(svg, "w") as f:
        f.write("\n".join(parts))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "bench/results/latest.json"
    png = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(src), "latency.png")
    with open(src) as f:
        data = json.load(f)
    try:
        plot_matplotlib(data, png)
        print(f"wrote {png}")
    except ImportError:
        svg = os.path.splitext(png)[0] + ".svg"
        plot_svg(data, svg)
        print(f"matplotlib is not installed (python3 -m pip install matplotlib): wrote {svg} instead of {png}")


if __name__ == "__main__":
    main()
