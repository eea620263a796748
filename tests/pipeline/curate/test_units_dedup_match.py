"""Dedup and match DoFns as plain objects (the pipeline tests run them for real)."""

from __future__ import annotations

import itertools
import pickle

from pipeline.curate.dedup import PickFn, keyed
from pipeline.curate.match import MatchFn
from schemas.layout import pair_id


def _cand(input_file, page):
    return ("http://img1.test/a.jpg", "two red circles", "alt", page, input_file)


def test_pick_keeps_the_smallest_copy_whatever_the_order():
    copies = [_cand("b.warc.gz", "http://p/1"), _cand("a.warc.gz", "http://p/9"),
              _cand("a.warc.gz", "http://p/2")]
    pid = keyed(copies[0])[0]
    assert pid == pair_id("http://img1.test/a.jpg", "two red circles")
    for order in itertools.permutations(copies):
        fn = PickFn()
        fn.start_bundle()
        assert list(fn.process((pid, iter(order)))) == []  # buffered: sent in batches
        counts = dict(fn.counts)
        out = [o for o in fn.finish_bundle() if getattr(o, "tag", None) != "stats"]
        kept = [o.value for o in out if not hasattr(o, "tag")]
        rejects = [o.value.value for o in out if hasattr(o, "tag")]
        assert kept == [[(pid, _cand("a.warc.gz", "http://p/2"))]]
        assert sorted(r[3] for r in rejects[0]) == ["duplicate_pair", "duplicate_pair"]
        assert counts == {("reject", "dedup", "duplicate_pair"): 2}
        assert fn.counts == {("flow", "deduplicated"): 1, ("reject", "dedup", "duplicate_pair"): 2}


def test_match_builds_the_matcher_once_per_process(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("red\ncircles\nhot dog\n")
    original = MatchFn(str(q), "h1")
    # Beam unpickles the DoFn once per bundle processor; the copies share one Shared key
    fns = [pickle.loads(pickle.dumps(original)) for _ in range(2)]
    for fn in fns:
        fn.setup()
        fn.start_bundle()
    assert fns[0].match.__self__ is fns[1].match.__self__  # one shared matcher
    out = list(fns[0].process([("p1", ("u", "two red circles", "alt", None, "f")),
                               ("p2", ("u", "a hot dogs stand", "alt", None, "f"))]))
    matched, no = out  # one batch of matches, one tagged batch of rejects
    assert matched == [("p1", ("u", "two red circles", "alt", None, "f"), ("circles", "red"))]
    assert no.tag == "reject" and [r[2:4] for r in no.value] == [("match", "no_match")]
