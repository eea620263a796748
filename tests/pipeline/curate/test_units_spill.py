"""Spill files as plain objects (the pipeline tests run them for real)."""

from __future__ import annotations

import pytest

from pipeline.curate.counting import BATCH
from pipeline.curate.spill import (
    LoadFn,
    SpillFn,
    read_indexed,
    read_segment,
    write_indexed,
    write_segments,
)


def test_segments_read_back_exactly_what_was_written(tmp_path):
    groups = [(3, [("p", ("u", "t\udcff", "alt", None, "f"))]), (9, []), (1, list(range(1000)))]
    refs = write_segments(str(tmp_path / "kind"), groups)  # the folder is created on write
    assert [k for k, _ in refs] == [3, 9, 1]
    assert [read_segment(ref) for _, ref in refs] == [v for _, v in groups]
    path, offset, length = refs[2][1]
    with pytest.raises(OSError, match="ends before"):
        read_segment((path, offset, length + 1))


def test_indexed_file_reads_back_each_bucket(tmp_path):
    lists = [[], [("a", 1)], [], [("b", 2), ("c", 3)], []]
    path, offsets = write_indexed(str(tmp_path), lists)
    assert len(offsets) == 8 * (len(lists) + 1)  # a uint64 per bucket, plus the end
    assert [read_indexed(path, offsets, i) for i in range(len(lists))] == lists
    assert read_indexed("/no/such/file", offsets, 0) == []  # empty segments are not read


def test_spill_fn_writes_a_file_per_buffer_and_load_fn_sends_batches(tmp_path):
    fn = SpillFn(str(tmp_path), rows=1000)
    fn.start_bundle()
    refs = [r for i in range(0, 2500, 250) for r in fn.process(list(range(i, i + 250)))]
    assert len(refs) == 2 and len(list(tmp_path.iterdir())) == 2  # a file per 1000 elements
    refs += [wv.value for wv in fn.finish_bundle()]  # the rest at the end of the bundle
    batches = [b for ref in refs for b in LoadFn().process(ref)]
    assert max(len(b) for b in batches) == BATCH
    assert [x for b in batches for x in b] == list(range(2500))


def test_pack_keeps_candidates_their_type_and_other_lists_as_they_are():
    from pipeline.curate.elements import Candidate, pack, unpack

    cands = [Candidate(f"http://h/{i}.jpg", "t\udcff", "alt", None, "f") for i in range(3)]
    for rows in (
        cands,
        [("p", c) for c in cands],
        [("p", c, ("red",)) for c in cands],
        [("p", c) for c in cands] + [("p", tuple(cands[0]))],  # not one shape: pickled whole
        [1, "x", None],
        [],
    ):
        back = unpack(pack(rows))
        assert back == rows
        types = [type(v) for row in back if isinstance(row, tuple) for v in (row, *row)]
        assert types.count(Candidate) == sum(
            type(v) is Candidate for row in rows if isinstance(row, tuple) for v in (row, *row)
        )


def test_stage_outputs_get_the_batch_coder_whose_size_estimate_pickles_nothing(monkeypatch):
    import pickle

    import apache_beam as beam

    from pipeline.curate.counting import apply_stage
    from pipeline.curate.elements import Batch, BatchCoder, Candidate
    from pipeline.curate.filters import FilterFn

    p = beam.Pipeline()
    main, _, _ = apply_stage(p | beam.Create([[]]), "Filter", FilterFn(1, 100))
    assert main.element_type is Batch  # not Beam's default coder, which pickles each candidate
    assert isinstance(beam.coders.registry.get_coder(main.element_type), BatchCoder)
    rows = [Candidate(f"http://h/{i}.jpg", "a red ball", "alt", None, "f") for i in range(500)]
    impl = BatchCoder().get_impl()
    assert impl.decode(impl.encode(rows)) == rows
    monkeypatch.setattr(pickle, "dumps", None)  # Beam samples sizes: no encoding for that
    assert impl.estimate_size(rows) == BatchCoder.ROW_BYTES * 500


def test_pack_falls_back_to_pickle_for_values_marshal_cannot_hold():
    from pipeline.curate.elements import pack, unpack
    from schemas.vocab import Reason

    rows = [("p", Reason.NO_MATCH), ("q", frozenset({"x"}))]
    data = pack(rows)
    assert data[:1] == b"p" and unpack(data) == rows
    plain = [("p", "x\udcff", None, 1.5, ("a", "b"))]
    data = pack(plain)
    assert data[:1] == b"m" and unpack(data) == plain


def test_part_rows_sort_as_python_sorts_them_with_nulls_as_empty():
    import random

    from pipeline.curate.write import arrow_table, sorted_by
    from schemas.records import RejectRow

    rng = random.Random(1)
    pieces = ["a", "b", "", "é", "日", "\U0001f600", "Z", "~", " "]

    def value():
        return None if rng.random() < 0.2 else "".join(rng.choices(pieces, k=rng.randint(0, 3)))

    rows = [(value(), value(), "read", rng.choice("xy"), rng.choice("fg")) for _ in range(5000)]
    want = sorted(rows, key=lambda r: tuple("" if v is None else v for v in r))
    got = sorted_by(arrow_table(RejectRow, rows), tuple(RejectRow.ARROW.names))
    assert list(zip(*got.to_pydict().values())) == want  # stable: ties keep their order
