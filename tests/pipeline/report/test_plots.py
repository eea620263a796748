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


def test_log_log_plots_of_the_curate_report_have_plain_labels(monkeypatch):
    drawn = []

    def labels_of(fig):
        fig.canvas.draw()
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                drawn.extend(t.get_text() for t in axis.get_ticklabels() if t.get_text())
        plt.close(fig)
        return "uri"

    monkeypatch.setattr(plots, "to_uri", labels_of)
    matches = [20_000 // (r + 1) for r in range(3000)]
    assert plots.query_distribution(matches, [min(m, 500) for m in matches], 500) == "uri"
    draws = [{"epoch": 0, "matches": matches, "kept": [min(m, 90) for m in matches]}]
    assert plots.balance_draws(draws, 90) == "uri"
    assert {"1", "10", "100", "1,000"} <= set(drawn), drawn
    assert not any("$" in label for label in drawn)
