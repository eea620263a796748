"""`--embedded`: unigrams with no dump, from a word list shipped in `wordfreq`.

`--language XX` takes wordfreq's list for XX (its `large` list where wordfreq has one, else
`small`; `available_languages()` lists them, ~40). What follows describes English; other
languages are filtered and scored the same way. Lists of languages written without spaces
(zh, ja, ko) hold the words wordfreq's segmenter yields, the one `queries.segment` uses.

`wordfreq.top_n_list("en", ..., wordlist="large")` gives 319,938 English words (a blend
of Wikipedia, subtitles, news, books, web text, Twitter and Reddit; lower-cased by
wordfreq). Kept: words that are words by `queries.build.tokens`' definition (letters and
digits with inner apostrophes or hyphens, at least one letter): that drops 3,145 entries
such as `u.s` (its period can never match: the matcher pads periods apart), emoji,
symbols and bare numbers. Score: the word's expected count per billion tokens,
`round(f * 1e9)` where f = 10 ** (-cB / 100) is the frequency of the word's centibel
bucket in wordfreq's list (`word_frequency` gives the same value rounded to 3
significant digits); at least 10, since the large list stops at 1e-8.
Nothing is downloaded: the data ships in the wheel.
"""

from __future__ import annotations

import re

from queries.build.errors import QueryBuildError

_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")
_HAS_LETTER = re.compile(r"[^\W\d_]")
# Larger than the list: top_n_list returns every word it has.
_ALL = 10_000_000


def available_languages() -> list[str]:
    import wordfreq

    return sorted(wordfreq.available_languages("best"))


def embedded_unigrams(language: str = "en") -> dict[str, float]:
    """Words of `language` from wordfreq (module doc) -> count per billion tokens."""
    import wordfreq  # only the embedded build needs it

    if language not in wordfreq.available_languages("best"):
        raise QueryBuildError(
            f"--embedded --language {language}: wordfreq has no word list for it; it has "
            + ", ".join(available_languages())
        )
    wordlist = "large" if language in wordfreq.available_languages("large") else "small"
    bucket_freq: dict[str, float] = {}
    for cb, bucket in enumerate(wordfreq.get_frequency_list(language, wordlist=wordlist)):
        for word in bucket:
            bucket_freq.setdefault(word, wordfreq.cB_to_freq(-cb))
    out: dict[str, float] = {}
    for word in wordfreq.top_n_list(language, _ALL, wordlist=wordlist):
        if _WORD.fullmatch(word) and _HAS_LETTER.search(word):
            out[word] = float(round(bucket_freq[word] * 1e9))
    return out
