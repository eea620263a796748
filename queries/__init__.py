"""The query list: building it (`python -m queries build`), loading any list, matching texts.

`load` and `QueryMatcher` import no Beam, so the trainer or a notebook can use them.
"""

from queries.loader import QueryListError, load, loads

__all__ = ["QueryListError", "load", "loads"]
