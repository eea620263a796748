"""Dedup and match DoFns as plain objects (the pipeline tests run them for real)."""

from __future__ import annotations

import itertools
import pickle

from pipeline.curate import match as match_module
from pipeline.curate.dedup import FLUSH, BucketFn, PickFn, bucket_count, flush_size
from pipeline.curate.elements import Candidate
from pipeline.curate.match import MatchFn
from pipeline.curate.spill import read_indexed, write_indexed
from schemas.layout import pair_id


def _cand(input_file, page):
    return Candidate("http://img1.test/a.jpg", "two red circles", "alt", page, input_file)


def test_pick_keeps_the_smallest_copy_whatever_the_order(tmp_path):
    copies = [
        _cand("b.warc.gz", "http://p/1"),
        _cand("a.warc.gz", "http://p/9"),
        _cand("a.warc.gz", "http://p/2"),
    ]
    pid = pair_id("http://img1.test/a.jpg", "two red circles")
    for order in itertools.permutations(copies):
        fn = PickFn()
        fn.start_bundle()
        # two spill files (two worker flushes), each with a segment of bucket 1
        files = [
            write_indexed(str(tmp_path), [[], [(pid, order[0])]]),
            write_indexed(str(tmp_path), [[("x", None)], [(pid, c) for c in order[1:]]]),
        ]
        assert list(fn.process(1, files)) == []  # buffered: sent in batches
        counts = dict(fn.counts)
        out = [o for o in fn.finish_bundle() if getattr(o, "tag", None) != "stats"]
        kept = [o.value for o in out if not hasattr(o, "tag")]
        rejects = [o.value.value for o in out if hasattr(o, "tag")]
        assert kept == [[(pid, _cand("a.warc.gz", "http://p/2"))]]
        assert sorted(r[3] for r in rejects[0]) == ["duplicate_pair", "duplicate_pair"]
        assert counts == {("reject", "dedup", "duplicate_pair"): 2}
        assert fn.counts == {("flow", "deduplicated"): 1, ("reject", "dedup", "duplicate_pair"): 2}


def test_bucket_fn_spills_candidates_by_pair_id_bucket(tmp_path):
    fn = BucketFn(bucket_count(0), str(tmp_path))
    fn.start_bundle()
    cands = [_cand("a", f"http://p/{i}") for i in range(3)] + [
        Candidate("http://img1.test/b.jpg", "x", "alt", None, "a")
    ]
    assert list(fn.process(cands)) == []  # buffered until FLUSH or the end of the bundle
    assert list(tmp_path.iterdir()) == []
    [(path, offsets)] = [wv.value for wv in fn.finish_bundle()]  # one file, a segment per bucket
    out = {b: read_indexed(path, offsets, b) for b in range(64)}
    pids = [pair_id(c[0], c[1]) for c in cands]
    assert sorted(p for lst in out.values() for p, _ in lst) == sorted(pids)
    assert all(int(p[:8], 16) % 64 == b for b, lst in out.items() for p, _ in lst)
    assert bucket_count(10 << 30) == 2560 and bucket_count(1) == 64
    # segments stay ~25 candidates or more, so the refs grow linearly with the input
    assert flush_size(64) == FLUSH and flush_size(2560) == 25 * 2560


def test_match_builds_the_matcher_once_per_process(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("red\ncircles\nhot dog\n")
    original = MatchFn(str(q), "h1")
    # Beam unpickles the DoFn once per bundle processor; the copies share one Shared key
    fns = [pickle.loads(pickle.dumps(original)) for _ in range(2)]
    for fn in fns:
        fn.setup()
        fn.start_bundle()
    assert fns[0].match_batch.__self__ is fns[1].match_batch.__self__  # one shared matcher
    fn = fns[0]
    assert (
        list(
            fn.process(
                [
                    ("p1", Candidate("u", "two red circles", "alt", None, "f")),
                    ("p2", Candidate("u", "a hot dogs stand", "alt", None, "f")),
                ]
            )
        )
        == []
    )
    # the pairs wait for MATCH_TEXTS of them or the bundle's end
    out = [_unwrap(o) for o in fn.finish_bundle()]
    assert out[0] == (
        None,
        [("p1", ("u", "two red circles", "alt", None, "f"), ("circles", "red"))],
    )
    assert out[1][0] == "reject" and [r[2:4] for r in out[1][1]] == [("match", "no_match")]
    assert dict(v for _, v in out[2:]) == {
        ("flow", "matched"): 1,
        ("reject", "match", "no_match"): 1,
    }


def _unwrap(out) -> tuple:
    """(tag or None, value) of a DoFn output, windowed or not."""
    tag = getattr(out, "tag", None)
    value = out.value if tag is not None or hasattr(out, "windows") else out
    return tag, value.value if hasattr(value, "windows") else value


def test_match_calls_the_matcher_per_match_texts_and_sends_batches_of_batch(tmp_path, monkeypatch):
    q = tmp_path / "q.txt"
    q.write_text("red\n")
    monkeypatch.setattr(match_module, "MATCH_TEXTS", 1200)
    fn = MatchFn(str(q), "h2")
    fn.setup()
    calls = []
    inner = fn.match_batch
    fn.match_batch = lambda texts: calls.append(len(texts)) or inner(texts)
    fn.start_bundle()
    pairs = [
        (f"p{i}", Candidate("u", "red" if i % 3 else "blue", "alt", None, "f")) for i in range(2600)
    ]
    sent = []
    for i in range(0, 2600, 500):
        sent += [_unwrap(o) for o in fn.process(pairs[i : i + 500])]
    sent += [_unwrap(o) for o in fn.finish_bundle()]
    assert calls == [1500, 1100]  # 3 batches reach 1200, the rest at the bundle's end
    kept = [v for tag, v in sent if tag is None]
    rejected = [v for tag, v in sent if tag == "reject"]
    assert sum(map(len, kept)) == 1733 and sum(map(len, rejected)) == 867
    assert max(map(len, kept + rejected)) <= 500


def test_match_setup_settles_the_garbage_collector(tmp_path):
    import gc

    from pipeline.curate.counting import GC_YOUNG

    q = tmp_path / "q.txt"
    q.write_text("red\n")
    before = gc.get_threshold()
    try:
        MatchFn(str(q), "h3").setup()
        assert gc.get_threshold()[0] == GC_YOUNG and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
