"""Source 2, `bigram`: word pairs with high pointwise mutual information (PMI).

PMI as NLTK's `BigramAssocMeasures.pmi` (what MetaCLIP used), with NLTK's marginals from
`BigramCollocationFinder` (`N = word_fd.N()`, the number of word tokens, not of bigrams):

    PMI(x y) = log2(c(x y) * N) - log2(c(x) * c(y))

c(x y): times `x y` occurs (two words one space apart, `queries.build.tokens`);
c(x), c(y): unigram counts; N: all word tokens of the corpus. Kept: c(x y) >=
`--bigram-min-count` and PMI >= `--bigram-min-pmi`. Score: the PMI.

The ceiling: c(x) >= c(x y) and c(y) >= c(x y), so PMI <= log2(N / c(x y)) <=
log2(N / min_count) <= log2 N. A bigram that passes `--bigram-min-pmi P` with
`--bigram-min-count C` needs N >= C * 2**P tokens. With the defaults (P=30, C=10) that is
N >= 1.07e10; full English Wikipedia has about 3-4e9 words, so log2(N / 10) is about 28.5
and no bigram passes under this definition. On a slice of a few million tokens
(log2 N ~ 21) use P around 12 and C around 5. The build prints the ceiling for the corpus
it counted.
"""

from __future__ import annotations

import math

import apache_beam as beam


def pmi(c_xy: int, c_x: int, c_y: int, n: int) -> float:
    """NLTK's bigram PMI from integer counts (exact integer products, then log2)."""
    return math.log2(c_xy * n) - math.log2(c_x * c_y)


def pmi_ceiling(n: int, min_count: int) -> float:
    """The highest PMI any bigram seen >= `min_count` times can have in `n` tokens."""
    return math.log2(n / max(min_count, 1)) if n > 0 else float("-inf")


def _with_first(kv):
    bigram, count = kv
    return bigram.split(" ", 1)[0], (bigram, count)


def _attach_first(kv):
    """(x, {bigram: [(bigram, c_xy)], word: [c_x]}) -> (y, (bigram, c_xy, c_x)) each."""
    _word, groups = kv
    # Every word of a counted bigram was counted, so `word` holds exactly one count.
    for c_x in groups["word"]:
        for bigram, c_xy in groups["bigram"]:
            yield bigram.split(" ", 1)[1], (bigram, c_xy, c_x)


def _score(kv, n: int, min_pmi: float):
    """(y, {bigram: [(bigram, c_xy, c_x)], word: [c_y]}) -> (bigram, pmi) that pass."""
    _word, groups = kv
    for c_y in groups["word"]:
        for bigram, c_xy, c_x in groups["bigram"]:
            value = pmi(c_xy, c_x, c_y, n)
            if value >= min_pmi:
                yield bigram, value


class ScoreBigrams(beam.PTransform):
    """Bigram counts + unigram counts + N -> PCollection[(bigram, pmi)] that pass.

    Inputs (a dict given to `expand`): `bigrams` PCollection[("x y", count)] summed,
    `unigrams` PCollection[(word, count)] summed (all words, not only frequent ones),
    `n` a one-element PCollection[int]. Joins are CoGroupByKey on each word, so no side
    input ever holds the vocabulary (it has tens of millions of words on a full dump).
    """

    def __init__(self, min_count: int, min_pmi: float):
        super().__init__()
        self.min_count = min_count
        self.min_pmi = min_pmi

    def expand(self, inputs):
        min_count, min_pmi = self.min_count, self.min_pmi
        frequent = inputs["bigrams"] | "MinCount" >> beam.Filter(lambda kv: kv[1] >= min_count)
        with_x = (
            {"bigram": frequent | "KeyByFirst" >> beam.Map(_with_first), "word": inputs["unigrams"]}
            | "JoinFirst" >> beam.CoGroupByKey()
            | "AttachFirst" >> beam.FlatMap(_attach_first)
        )
        return (
            {"bigram": with_x, "word": inputs["unigrams"]}
            | "JoinSecond" >> beam.CoGroupByKey()
            | "Score"
            >> beam.FlatMap(_score, n=beam.pvalue.AsSingleton(inputs["n"]), min_pmi=min_pmi)
        )
