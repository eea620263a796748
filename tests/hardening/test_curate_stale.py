"""A killed curate run leaves `OUT.openwit-tmp-*` beside the output; the next run of the same
output removes them (the kill itself is in test_kill_curate.py, slow), and nothing else."""

from __future__ import annotations

from pipeline.curate import finalize


def test_discard_stale_removes_only_temporary_siblings_of_this_output(tmp_path):
    out = tmp_path / "out"
    for name in (
        "out.openwit-tmp-abc",
        "out.openwit-tmp-old-def",
        "out",
        "outer",
        "other.openwit-tmp-abc",
        "out[1].openwit-tmp-x",
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x")
    removed = finalize.discard_stale(str(out))
    assert sorted(p.rsplit("/", 1)[1] for p in removed) == [
        "out.openwit-tmp-abc",
        "out.openwit-tmp-old-def",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.openwit-tmp-abc",
        "out",
        "out[1].openwit-tmp-x",
        "outer",
    ]
    assert finalize.discard_stale("gs://bucket/out") == []
