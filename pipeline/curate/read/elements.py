"""The readers' names for the element types (`pipeline.curate.elements`, where they live so
that the stage glue can use them without importing the read stage)."""

from pipeline.curate.elements import (  # noqa: F401
    FILE,
    MAX_REJECT_CHARS,
    PAIR,
    REJECT,
    Candidate,
    as_candidate,
    reject,
    reject_candidate,
)
