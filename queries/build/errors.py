"""The one error type of `queries build`: a message naming the file and the problem."""

from __future__ import annotations


class QueryBuildError(ValueError):
    """An input that cannot be used (missing, truncated, not the expected format).

    The message is one line that names the file or folder; the CLI prints it and
    exits with status 2.
    """
