"""The report's plots: a log axis is labelled with plain numbers, never through matplotlib's
math-text parser (its `10^n` labels cost ~30% of the download report's plotting time)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from pipeline.report import plots


def test_log_axis_labels_are_plain_numbers():
    fig, ax = plt.subplots()
    ax.barh(["a", "b"], [3, 12_000])
    ax.set_xscale("log")
    plots.plain_log_ticks(ax.xaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    plt.close(fig)
    assert {"10", "100", "1,000", "10,000"} <= set(labels), labels
    assert not any("$" in label for label in labels)  # no math text
    assert not any(t.get_text() for t in ax.xaxis.get_minorticklabels())


def test_hbar_on_a_log_axis_still_draws():
    uri = plots.hbar({"download: timeout": 3, "curate: junk": 12_000}, "rejects", log=True)
    assert uri.startswith("data:image/png;base64,") and len(uri) > 1000
