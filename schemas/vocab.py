"""The closed vocabularies that cross stage boundaries.

Every value is a plain string on disk (parquet, json); the enums exist so code
spells them one way. Add members here, never ad-hoc strings elsewhere.
"""

from __future__ import annotations

from enum import StrEnum


class QuerySource(StrEnum):
    """Where a query-list entry came from, in precedence order (first wins)."""

    UNIGRAM = "unigram"
    BIGRAM = "bigram"
    TITLE = "title"
    WORDNET = "wordnet"


class TextSource(StrEnum):
    """Which attribute or column a candidate pair's text was taken from."""

    ALT = "alt"
    TITLE = "title"
    CAPTION = "caption"


class Stage(StrEnum):
    """The curate stage that rejected a record (`rejects/*.parquet` `stage`)."""

    READ = "read"
    FILTER = "filter"
    LANGUAGE = "language"
    DEDUP = "dedup"
    MATCH = "match"
    BALANCE = "balance"


class Reason(StrEnum):
    """Why a record was rejected (`rejects/*.parquet` `reason`).

    `REASON_STAGE` maps each reason to the one stage that emits it.
    """

    # read: a whole file or a record could not be turned into candidates
    UNREADABLE_FILE = "unreadable_file"
    TRUNCATED_FILE = "truncated_file"
    BAD_RECORD = "bad_record"
    NOT_HTML = "not_html"
    BAD_URL = "bad_url"
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    TOO_MANY_IMAGES = "too_many_images"
    PAGE_TOO_LARGE = "page_too_large"
    MISSING_COLUMN = "missing_column"
    # filter: text checks
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_SHORT = "text_too_short"
    TEXT_TOO_LONG = "text_too_long"
    JUNK_TEXT = "junk_text"
    FILE_NAME_TEXT = "file_name_text"
    URL_TEXT = "url_text"
    # language
    WRONG_LANGUAGE = "wrong_language"
    LOW_LANGUAGE_CONFIDENCE = "low_language_confidence"
    # dedup
    DUPLICATE_PAIR = "duplicate_pair"
    # match
    NO_MATCH = "no_match"
    # balance
    BALANCED_OUT = "balanced_out"


REASON_STAGE: dict[Reason, Stage] = {
    Reason.UNREADABLE_FILE: Stage.READ,
    Reason.TRUNCATED_FILE: Stage.READ,
    Reason.BAD_RECORD: Stage.READ,
    Reason.NOT_HTML: Stage.READ,
    Reason.BAD_URL: Stage.READ,
    Reason.UNSUPPORTED_SCHEME: Stage.READ,
    Reason.TOO_MANY_IMAGES: Stage.READ,
    Reason.PAGE_TOO_LARGE: Stage.READ,
    Reason.MISSING_COLUMN: Stage.READ,
    Reason.EMPTY_TEXT: Stage.FILTER,
    Reason.TEXT_TOO_SHORT: Stage.FILTER,
    Reason.TEXT_TOO_LONG: Stage.FILTER,
    Reason.JUNK_TEXT: Stage.FILTER,
    Reason.FILE_NAME_TEXT: Stage.FILTER,
    Reason.URL_TEXT: Stage.FILTER,
    Reason.WRONG_LANGUAGE: Stage.LANGUAGE,
    Reason.LOW_LANGUAGE_CONFIDENCE: Stage.LANGUAGE,
    Reason.DUPLICATE_PAIR: Stage.DEDUP,
    Reason.NO_MATCH: Stage.MATCH,
    Reason.BALANCED_OUT: Stage.BALANCE,
}


class Status(StrEnum):
    """Outcome of one input row of `pipeline download` (per-shard parquet `status`)."""

    SUCCESS = "success"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    EXCLUDED = "excluded"


class DownloadReason(StrEnum):
    """Why `pipeline download` failed or removed a row (the prefix of `error_message`,
    and the key of the error histogram in `_stats.json` / `stats.json`)."""

    BAD_URL = "bad_url"
    BAD_RECORD = "bad_record"
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    EXCLUDED_DOMAIN = "excluded_domain"
    DNS_ERROR = "dns_error"
    BLOCKED_ADDRESS = "blocked_address"
    CONNECT_ERROR = "connect_error"
    TIMEOUT = "timeout"
    CONNECTION_RESET = "connection_reset"
    PROTOCOL_ERROR = "protocol_error"
    TLS_ERROR = "tls_error"
    CERT_EXPIRED = "cert_expired"
    CERT_HOSTNAME_MISMATCH = "cert_hostname_mismatch"
    CERT_SELF_SIGNED = "cert_self_signed"
    CERT_UNTRUSTED = "cert_untrusted"
    CERT_INVALID = "cert_invalid"
    HTTP_ERROR = "http_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    ROBOTS_TXT = "robots_txt"
    X_ROBOTS_TAG = "x_robots_tag"
    CONTENT_TYPE = "content_type"
    NOT_IMAGE = "not_image"
    TOO_LARGE = "too_large"
    DECODE_ERROR = "decode_error"
    DECOMPRESSION_BOMB = "decompression_bomb"
    TOO_SMALL = "too_small"
    ASPECT_RATIO = "aspect_ratio"
    ENCODE_ERROR = "encode_error"
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    EVAL_OVERLAP = "eval_overlap"
