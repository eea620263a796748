"""Per-language query lists (worldwide curation, as in MetaCLIP 2) and a matcher over their union.

A folder of lists holds one file per language named by its code: `en.parquet`, `de.parquet`,
`zh.parquet` (any format `queries.loads` reads: `.parquet`, `.txt`, `.json`). Files whose
name is not a language code we can match (`queries.segment.check_language`) are an error
naming the file; so is a folder with no list.

`UnionMatcher(lists)` matches a text against every list at once and says which list each
matched entry came from: one `QueryMatcher` over the union of the lists of languages written
with spaces (an entry in two lists is matched once and credited to both), plus one per
segmented language (zh, ja, ko), which only looks at texts holding its script. So a text
costs one pass over the union, however many spaced languages there are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from queries.loader import QueryListError, loads
from queries.matcher import QueryMatcher
from queries.segment import UnsupportedLanguage, check_language, segmenter_kind

LIST_SUFFIXES = (".parquet", ".txt", ".json")


def language_of_file(name: str) -> str:
    """`.../de.parquet` -> `de`; a name that is no language code raises QueryListError."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    stem = base.split(".", 1)[0]
    try:
        return check_language(stem)
    except UnsupportedLanguage as e:
        raise QueryListError(f"{name}: a folder of lists names each file XX.parquet: {e}") from e


def is_list_file(name: str) -> bool:
    return name.lower().endswith(LIST_SUFFIXES)


def parse_lists(files: Iterable[tuple[str, bytes]]) -> dict[str, list[str]]:
    """(file name, bytes) of each list -> {language: entries}, languages sorted."""
    lists: dict[str, list[str]] = {}
    for name, data in files:
        lang = language_of_file(name)
        if lang in lists:
            raise QueryListError(f"{name}: a second list for language {lang!r}")
        lists[lang] = loads(data, name)
    if not lists:
        raise QueryListError("the folder of query lists holds no XX.parquet|txt|json file")
    return dict(sorted(lists.items()))


def load_lists(folder: str | os.PathLike) -> dict[str, list[str]]:
    """{language: entries} from a local folder of per-language lists (module doc)."""
    folder = os.fspath(folder)
    names = sorted(n for n in os.listdir(folder) if is_list_file(n))
    files = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            files.append((os.path.join(folder, name), f.read()))
    return parse_lists(files)


class UnionMatcher:
    """Matches texts against the union of per-language lists (module doc)."""

    def __init__(self, lists: dict[str, list[str]]):
        self.languages = tuple(sorted(lists))
        owners: dict[str, list[str]] = {}
        self._segmented: dict[str, QueryMatcher] = {}
        for lang in self.languages:
            if segmenter_kind(lang) is None:
                for entry in lists[lang]:
                    owners.setdefault(entry, []).append(lang)
            else:
                self._segmented[lang] = QueryMatcher(lists[lang], language=lang)
        self._owners = {e: tuple(langs) for e, langs in owners.items()}
        self._spaced = QueryMatcher(owners) if owners else None

    def match_batch(self, texts: list[str]) -> list[dict[str, list[str]]]:
        """Per text, {language: its sorted matched entries}; languages without a match absent."""
        out: list[dict[str, list[str]]] = [{} for _ in texts]
        if self._spaced is not None:
            for found, by_lang in zip(self._spaced.match_batch(texts), out):
                for entry in found:  # found is sorted, so each language's list stays sorted
                    for lang in self._owners[entry]:
                        by_lang.setdefault(lang, []).append(entry)
        for lang, matcher in self._segmented.items():
            for found, by_lang in zip(matcher.match_batch(texts), out):
                if found:
                    by_lang[lang] = found
        return out

    def match(self, text: str) -> dict[str, list[str]]:
        return self.match_batch([text])[0]
