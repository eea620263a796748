"""Retries with backoff for object-store calls, and the error that names the object.

`call(op, path, fn)` runs `fn()`; a transient failure (a 5xx or 429 answer, a dropped or refused
connection, a timeout) is retried with exponential backoff until `RetryPolicy.deadline_s` has
passed; then, or at once for a permanent failure (404, 403, a bad request), it raises
`StorageError("OP PATH: CAUSE")`. Beam-free (the trainer may use it).

The deadline covers a store that is unreachable for a while (a restart, a network blip): the
default, 120 s, is set by `OPENWIT_STORAGE_RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass

log = logging.getLogger("runtime.storage")

RETRY_ENV = "OPENWIT_STORAGE_RETRY_SECONDS"
_PERMANENT_CODES = {400, 401, 403, 404, 405, 409, 412, 416}
_PERMANENT_WORDS = ("nosuchkey", "nosuchbucket", "not found", "accessdenied", "forbidden")


class StorageError(OSError):
    """A storage call that failed for good; the message names the operation and the object."""


class StorageNotFound(StorageError, FileNotFoundError):
    """The object (or bucket) does not exist."""


@dataclass(frozen=True)
class RetryPolicy:
    deadline_s: float = 120.0
    first_sleep_s: float = 0.25
    max_sleep_s: float = 8.0

    @classmethod
    def from_env(cls) -> RetryPolicy:
        value = os.environ.get(RETRY_ENV)
        return cls(deadline_s=float(value)) if value else cls()


def status_code(e: BaseException) -> int | None:
    """The HTTP status an error carries (Beam's S3ClientError `.code`, botocore's response)."""
    code = getattr(e, "code", None)
    if isinstance(code, int):
        return code
    response = getattr(e, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def _inner(e: BaseException) -> list[BaseException]:
    details = getattr(e, "exception_details", None)  # Beam's BeamIOError: {path: exception}
    inner = [x for x in details.values() if isinstance(x, BaseException)] if details else []
    if e.__cause__ is not None:
        inner.append(e.__cause__)
    return inner


_TRANSIENT_WORDS = (
    "connect",
    "timed out",
    "timeout",
    "reset",
    "broken pipe",
    "closed",
    "unavailable",
    "slow down",
    "slowdown",
    "internal error",
    "incomplete",
    "eof",
)


def is_transient(e: BaseException) -> bool:
    """Whether retrying the same call may succeed (see the module doc)."""
    if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    if isinstance(e, (KeyboardInterrupt, SystemExit, MemoryError, StorageError)):
        return False
    code = status_code(e)
    if code is not None:
        return code >= 500 or code == 429 or code == 408
    if isinstance(e, (ConnectionError, TimeoutError)):
        return True
    if any(is_transient(x) for x in _inner(e)):
        return True
    # botocore's connection errors, and Beam's S3ClientError without a status, say it in words
    text = f"{type(e).__name__} {e}".lower()
    if any(word in text for word in _PERMANENT_WORDS):
        return False
    return any(word in text for word in _TRANSIENT_WORDS)


def call(op: str, path: str, fn, policy: RetryPolicy | None = None):
    """`fn()`, retried while transient; StorageError naming `op` and `path` when it gives up."""
    policy = policy or RetryPolicy.from_env()
    start, sleep, tries = time.monotonic(), policy.first_sleep_s, 0
    while True:
        tries += 1
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - classified below, re-raised with the object named
            elapsed = time.monotonic() - start
            if not is_transient(e) or elapsed + sleep > policy.deadline_s:
                kind = StorageNotFound if _is_not_found(e) else StorageError
                raise kind(
                    f"{op} {path}: {_short(e)} (after {tries} tries in {elapsed:.1f}s)"
                ) from e
            log.warning("%s %s failed (%s); retrying in %.1fs", op, path, _short(e), sleep)
            time.sleep(sleep * (0.5 + random.random()))  # jitter: workers do not retry in step
            sleep = min(sleep * 2, policy.max_sleep_s)


def _is_not_found(e: BaseException) -> bool:
    if isinstance(e, FileNotFoundError) or status_code(e) == 404:
        return True
    text = str(e).lower()
    return "nosuchkey" in text or "not found" in text or any(_is_not_found(x) for x in _inner(e))


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}"
