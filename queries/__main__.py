"""`python -m queries build|stats ...` (see `queries.cli`)."""

from queries.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
