"""`--queries`: one list, or a folder of per-language lists (`XX.parquet`, worldwide curation).

`QuerySource.open(path, languages)` reads either through `runtime.storage` (local, gs://,
s3://). A folder holds one list per language named by its code (`queries.lists`); `--languages
all` takes every list in it, a list of codes takes those (each needs its file: else a
ValueError naming the missing ones). With one list, `--languages all` keeps texts of any
language. `digest` hashes every list read (names and bytes), `entries` is the list itself or,
for a folder, every language's entries qualified (`worldwide.qualify`), in language order.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from pipeline.curate.worldwide import qualify
from queries import loads
from queries.lists import is_list_file, language_of_file, parse_lists
from runtime import storage

ALL = "all"


def is_folder(path: str) -> bool:
    """A folder of lists: a local directory, or an object-store prefix ending in `/`."""
    if "://" not in path:
        return os.path.isdir(path)
    return path.endswith("/")


def list_files(folder: str) -> list[str]:
    found = storage.glob(storage.join(folder.rstrip("/"), "*"))
    return sorted(p for p in found if is_list_file(p))


@dataclass(frozen=True)
class QuerySource:
    """What `--queries` holds: `lists` {language: entries} for a folder, else None."""

    path: str
    entries: tuple[str, ...]
    digest: str
    lists: dict | None = None

    @property
    def worldwide(self) -> bool:
        return self.lists is not None

    @classmethod
    def open(cls, path: str, languages: tuple[str, ...]) -> QuerySource:
        if not is_folder(path):
            data = storage.read_bytes(path)
            return cls(path, tuple(loads(data, path)), hashlib.sha256(data).hexdigest())
        available = {language_of_file(f): f for f in list_files(path)}
        missing = sorted(set(languages) - {ALL} - set(available))
        if missing:
            raise ValueError(f"--languages {','.join(missing)}: no list for it in {path}")
        files = [f for lang, f in sorted(available.items()) if _wanted(lang, languages)]
        digest = hashlib.sha256()
        named = []
        for f in files:
            data = storage.read_bytes(f)
            digest.update(f.rsplit("/", 1)[-1].encode() + b"\0" + data + b"\0")
            named.append((f, data))
        lists = parse_lists(named)
        entries = tuple(qualify(lang, e) for lang, es in lists.items() for e in es)
        return cls(path, entries, digest.hexdigest(), lists)

    def languages(self, asked: tuple[str, ...]) -> tuple[str, ...]:
        """The languages language id keeps: the folder's lists, or `asked` for one list."""
        return tuple(self.lists) if self.worldwide else asked


def _wanted(lang: str, languages: tuple[str, ...]) -> bool:
    return ALL in languages or lang in languages
