"""The report's plots: matplotlib (Agg backend, no display), each returned as a PNG data URI.

Every function takes plain numbers (no file access) and returns `None` when it has
nothing to draw, so the page can say so instead of showing an empty axis.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on workers or CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

BLUE, ORANGE, GREEN, GREY = "#3b6ea8", "#e07b39", "#4a9a5b", "#888888"
STAGE_COLORS = ("#3b6ea8", "#e07b39", "#4a9a5b", "#b04a5a", "#7d5ba6", "#8c6d31", "#3c9aa0")


def to_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def query_distribution(matches: list[int], kept: list[int], t: int | None) -> str | None:
    """Rank-frequency of matches per entry before and after balancing, log-log, with t."""
    before = sorted((m for m in matches if m > 0), reverse=True)
    if not before:
        return None
    after = sorted((k for k in kept if k > 0), reverse=True)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.loglog(
        range(1, len(before) + 1),
        before,
        color=BLUE,
        lw=4,
        alpha=0.6,
        label="before balancing (matches)",
    )
    if after:
        ax.loglog(
            range(1, len(after) + 1), after, color=ORANGE, lw=1.8, label="after balancing (kept)"
        )
    if t:
        target = [min(m, t) for m in before]
        ax.axhline(t, color=GREY, lw=0.8, ls="--", label=f"t = {t:,}")
        ax.loglog(
            range(1, len(target) + 1),
            target,
            color=GREEN,
            lw=2,
            ls=(0, (2, 1.5)),
            label="pairs each entry draws itself (expected): min(count, t)",
        )
    ax.set_xlabel("entry rank (by count)")
    ax.set_ylabel("pairs matching the entry")
    plain_log_ticks(ax.xaxis, ax.yaxis)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return to_uri(fig)


def balance_draws(draws: list[dict], t: float | None) -> str | None:
    """Per epoch of a balanced training run: kept per entry (rank-frequency) against matches."""
    if not draws or not any(draws[0]["matches"]):
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    before = sorted((m for m in draws[0]["matches"] if m > 0), reverse=True)
    ax.loglog(range(1, len(before) + 1), before, color=BLUE, lw=4, alpha=0.6, label="pool")
    for d, color in zip(draws, STAGE_COLORS[1:]):
        kept = sorted((k for k in d["kept"] if k > 0), reverse=True)
        ax.loglog(range(1, len(kept) + 1), kept, color=color, lw=1.4, label=f"epoch {d['epoch']}")
    if t:
        ax.axhline(t, color=GREY, lw=0.8, ls="--", label=f"t = {t:,g}")
    ax.set_xlabel("entry rank (by count)")
    ax.set_ylabel("samples matching the entry")
    plain_log_ticks(ax.xaxis, ax.yaxis)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return to_uri(fig)


def plain_log_ticks(*axes) -> None:
    """Label log axes' decades as plain numbers (1, 10, 1,000), minor ticks unlabelled:
    matplotlib's default 10^n labels go through its math-text parser, which took ~30% of the
    download report's plotting time."""
    for axis in axes:
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def hbar(
    counts: dict[str, int],
    title: str,
    xlabel: str = "count",
    color: str = BLUE,
    colors: list[str] | None = None,
    log: bool = False,
) -> str | None:
    """A horizontal bar chart of `counts` (largest on top)."""
    items = [(k, v) for k, v in counts.items() if v]
    if not items:
        return None
    labels = [k for k, _ in items][::-1]
    values = [v for _, v in items][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.32 * len(items)))
    bars = ax.barh(labels, values, color=(colors[::-1] if colors else color))
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8, padding=3)
    if log:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_xlim(left=0.5)  # a count of 1 still shows as a bar
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.margins(x=0.15)
    return to_uri(fig)


def image_sizes(sizes: list[tuple[int, int]]) -> str | None:
    """Histograms of the original widths and heights (before resizing)."""
    if not sizes:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
    for ax, values, name in (
        (axes[0], [w for w, _ in sizes], "width"),
        (axes[1], [h for _, h in sizes], "height"),
    ):
        ax.hist(values, bins=30, color=BLUE)
        ax.set_xlabel(f"original {name} (px)")
    axes[0].set_ylabel("images")
    return to_uri(fig)


def loss_curve(metrics: list[dict]) -> str | None:
    """Training loss against step, with the learning rate on a second axis."""
    rows = [m for m in metrics if isinstance(m.get("loss"), (int, float)) and "step" in m]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.plot([m["step"] for m in rows], [m["loss"] for m in rows], color=BLUE, label="loss")
    ax.set_xlabel("step")
    ax.set_ylabel("contrastive loss", color=BLUE)
    ax.grid(True, alpha=0.3)
    lr = [(m["step"], m["lr"]) for m in rows if isinstance(m.get("lr"), (int, float))]
    if lr:
        ax2 = ax.twinx()
        ax2.plot([s for s, _ in lr], [v for _, v in lr], color=ORANGE, lw=1, ls="--")
        ax2.set_ylabel("learning rate", color=ORANGE)
    return to_uri(fig)
