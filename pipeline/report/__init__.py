"""`pipeline report`: the static HTML report of a download (and later, a training run)."""
