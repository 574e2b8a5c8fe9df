"""The run report's plots as inline PNG data (layer: harness).

matplotlib with the Agg backend (no display, no network, deterministic), in
the style of Jepsen's checker/perf.clj: latency scatter on a log axis coloured
by outcome, latency quantiles and throughput per time bucket, and node roles
and terms over time. Every time plot shades the fault windows and labels them
F1, F2, ... (the report's fault table names each). Each function returns the
PNG bytes base64-encoded, ready for an `<img src="data:image/png;base64,...">`.

Bounded work on big runs: the scatter draws at most SCATTER_MAX points
(evenly strided per outcome, fail and info kept first), and the time plots
aggregate into at most about 100 buckets.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from harness.reports._scan import OUTCOMES, OpDigest, StateDigest  # noqa: E402

COLORS = {"ok": "#3b8ee8", "fail": "#ff1e90", "info": "#ffa400"}   # Jepsen's hues, darker ok
ROLE_COLORS = {"leader": "#2ca02c", "follower": "#9ecae1", "candidate": "#ff7f0e",
               "pre_candidate": "#fdd0a2", "down": "#d62728"}
SHADE = "#555555"
MARKERS = "o^sDvP*X"
SCATTER_MAX = 20000
BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)
WIDTH, HEIGHT, DPI = 10.0, 3.6, 90


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _shade(ax, windows, label=True) -> None:
    """Fault windows as translucent full-height spans, each labelled at the top (labels of
    successive windows staggered downwards so overlapping windows stay readable)."""
    many = len(windows) > 12
    for i, w in enumerate(windows):
        ax.axvspan(w.start_s, max(w.end_s, w.start_s + 1e-3), color=SHADE, alpha=0.13, lw=0)
        if label:
            text = w.label.split()[0] if many else w.label
            ax.text(w.start_s, 0.99 - 0.07 * (i % 3), " " + text, fontsize=7, va="top",
                    ha="left", transform=ax.get_xaxis_transform(), color="#333333",
                    clip_on=True)


def _stride(idx: np.ndarray, cap: int) -> np.ndarray:
    if len(idx) <= cap:
        return idx
    return idx[np.linspace(0, len(idx) - 1, cap).astype(np.int64)]


def scatter_sample(d: OpDigest, cap: int = SCATTER_MAX) -> dict:
    """outcome -> indices of the ops drawn; fail and info first, ok gets what is left."""
    outcome = np.frombuffer(d.outcome, dtype=np.int8)
    out, left = {}, cap
    for name in ("fail", "info", "ok"):
        idx = np.flatnonzero(outcome == OUTCOMES.index(name))
        share = left if name == "ok" else max(cap // 4, 0)
        out[name] = _stride(idx, min(share, left))
        left -= len(out[name])
    return out


def latency_scatter(d: OpDigest, windows) -> tuple[str, int]:
    """(PNG, points drawn): latency of every (sampled) op at its invoke time, log scale."""
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    t = np.frombuffer(d.invoke_s, dtype=np.float64)
    lat = np.maximum(np.frombuffer(d.latency_ms, dtype=np.float32), 1e-3)
    fs = np.frombuffer(d.f, dtype=np.uint8)
    drawn = 0
    for name, idx in scatter_sample(d).items():
        drawn += len(idx)
        for fi in np.unique(fs[idx]) if len(idx) else ():
            sel = idx[fs[idx] == fi]
            fname = d.f_names[fi] if fi < len(d.f_names) else "other"
            ax.scatter(t[sel], lat[sel], s=4, marker=MARKERS[fi % len(MARKERS)],
                       color=COLORS[name], alpha=0.6, lw=0, label=f"{fname} {name}")
    _log_y(ax)
    _axes(ax, "latency (ms)", d.end_s, d.start_s)
    _shade(ax, windows)
    if drawn:
        _legend(ax, markerscale=3)
    return _png(fig), drawn


def _legend(ax, **kw) -> None:
    """Legend outside the axes, right, so it never hides points or fault labels."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, borderaxespad=0, **kw)


def _log_y(ax) -> None:
    """Log latency axis with plain tick labels (0.5, 2, 100 rather than 10^2); within less
    than a decade the minor ticks are labelled too (else there would be no label)."""
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    lo, hi = ax.get_ylim()
    ax.yaxis.set_minor_formatter(plain if hi / max(lo, 1e-9) < 10 else
                                 matplotlib.ticker.NullFormatter())


def _axes(ax, ylabel: str, end_s: float, start_s: float | None = 0.0) -> None:
    """Time axis from the run's first event (provisioning before it is left out)."""
    start = max((start_s or 0.0) - 0.5, 0.0)
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel(ylabel)
    ax.set_xlim(start, max(end_s, start + 1.0))
    ax.grid(True, alpha=0.3)


def bucket_width(span_s: float) -> float:
    """The smallest of BUCKETS giving at most about 100 buckets over `span_s`."""
    return next((b for b in BUCKETS if span_s / b <= 100), BUCKETS[-1])


def _buckets(times: np.ndarray, width: float) -> np.ndarray:
    return np.floor(times / width).astype(np.int64)


def latency_quantiles(d: OpDigest, windows) -> str:
    """p50 / p95 / p99 / max latency of ok ops per time bucket (by completion time)."""
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    width = bucket_width(d.end_s - (d.start_s or 0.0))
    ok = np.frombuffer(d.outcome, dtype=np.int8) == 0
    lat = np.frombuffer(d.latency_ms, dtype=np.float32)[ok]
    b = _buckets(np.frombuffer(d.complete_s, dtype=np.float64)[ok], width)
    if len(lat):
        order = np.argsort(b, kind="stable")
        b, lat = b[order], lat[order]
        keys, starts = np.unique(b, return_index=True)
        groups = np.split(lat, starts[1:])
        x = (keys + 0.5) * width
        for q, style in ((50, "-"), (95, "--"), (99, "-."), (100, ":")):
            y = [np.percentile(g, q) for g in groups]
            ax.plot(x, np.maximum(y, 1e-3), style, marker=".", ms=3,
                    label="max" if q == 100 else f"p{q}")
        _log_y(ax)
        _legend(ax)
    _axes(ax, f"ok latency (ms), {width:g} s buckets", d.end_s, d.start_s)
    _shade(ax, windows)
    return _png(fig)


def throughput(d: OpDigest, windows) -> str:
    """Completed ops per second per time bucket, one line per outcome."""
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    width = bucket_width(d.end_s - (d.start_s or 0.0))
    n = int(max(d.end_s, 0) // width) + 1
    b = np.clip(_buckets(np.frombuffer(d.complete_s, dtype=np.float64), width), 0, n - 1)
    outcome = np.frombuffer(d.outcome, dtype=np.int8)
    x = (np.arange(n) + 0.5) * width
    for i, name in enumerate(OUTCOMES):
        counts = np.bincount(b[outcome == i], minlength=n)
        if counts.any():
            ax.plot(x, counts / width, color=COLORS[name], marker=".", ms=3, label=name)
    if len(outcome):
        _legend(ax)
    _axes(ax, f"ops/s, {width:g} s buckets", d.end_s, d.start_s)
    ax.set_ylim(bottom=0)
    _shade(ax, windows)
    return _png(fig)


def roles_and_terms(s: StateDigest, windows, end_s: float, start_s: float | None = 0.0) -> str:
    """Top: each node's role over time (a bar per node); bottom: each node's term."""
    nodes = sorted(s.roles, key=str)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, 1.2 + 0.45 * len(nodes) + 2.2),
                                      sharex=True, height_ratios=[max(len(nodes), 1), 4])
    for row, node in enumerate(nodes):
        for role in {seg[2] for seg in s.roles[node]}:
            spans = [(a, max(b - a, 1e-3)) for a, b, r in s.roles[node] if r == role]
            top.broken_barh(spans, (row - 0.4, 0.8), color=ROLE_COLORS.get(role, "#bbbbbb"))
    top.set_yticks(range(len(nodes)), nodes)
    top.set_ylim(-0.6, max(len(nodes), 1) - 0.4)
    seen = sorted({seg[2] for segs in s.roles.values() for seg in segs})
    handles = [plt.Rectangle((0, 0), 1, 1, color=ROLE_COLORS.get(r, "#bbbbbb")) for r in seen]
    if handles:
        top.legend(handles, seen, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    _shade(top, windows)
    for node in nodes:
        steps = s.terms.get(node) or []
        if steps:
            xs = [t for t, _ in steps] + [end_s]
            ys = [term for _, term in steps] + [steps[-1][1]]
            bottom.step(xs, ys, where="post", label=node)
    _axes(bottom, "term", end_s, start_s)
    bottom.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    if any(s.terms.values()):
        _legend(bottom)
    _shade(bottom, windows, label=False)
    return _png(fig)
