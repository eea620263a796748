"""`make demo` / `python -m demo`: the whole flow offline on an embedded default."""
