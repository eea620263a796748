"""The demo's parts on their own: the world it writes, the eval sets, stage reuse, the host."""

from __future__ import annotations

import glob
import http.client
import os
import socket
from urllib.parse import urlsplit

import pyarrow.parquet as pq
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType
from PIL import Image

from demo import evalset, world
from demo.host import ImageHostProcess, pick_port
from demo.stages import StageFailed, Stages, last_json_line
from synth import concepts


def _srcs(path: str) -> list[str]:
    import re

    out = []
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f, record_types=WarcRecordType.response):
            body = rec.reader.read().decode("utf-8", "replace")
            out += re.findall(r'src="([^"]+)"', body)
    return out


def test_crawl_urls_carry_the_port_and_repeat_images_at_other_urls(tmp_path):
    paths = world.write_crawl(
        str(tmp_path / "a"), pages=120, files=2, seed=1, port=4321, hostile_fraction=0.1
    )
    again = world.write_crawl(
        str(tmp_path / "b"), pages=120, files=2, seed=1, port=4321, hostile_fraction=0.1
    )
    assert [open(p, "rb").read() for p in paths] == [open(p, "rb").read() for p in again]
    srcs = [s for p in paths for s in _srcs(p)]
    absolute = [s for s in srcs if s.startswith(("http://", "https://", "//"))]
    on_demo = [s for s in absolute if concepts.DOMAIN in s]
    assert on_demo and all(f"{concepts.DOMAIN}:4321/" in s for s in on_demo)
    assert any("/hostile/" in s for s in on_demo)
    near = [s for s in on_demo if "&amp;mode=" in s]
    assert near, "re-encoded copies (near duplicates) at other URLs"
    by_path: dict[str, set[str]] = {}
    for s in on_demo:
        parts = urlsplit(s.replace("&amp;", "&"))
        by_path.setdefault(parts.path, set()).add(parts.hostname)
    assert any(len(hosts) > 1 for hosts in by_path.values()), "the same image on several hosts"


def test_query_list_adds_concept_phrases(tmp_path):
    import queries

    base = tmp_path / "base.txt"
    base.write_text("a\nred\ncircle\n")
    counts = world.write_queries(str(base), str(tmp_path / "q.txt"))
    got = queries.load(str(tmp_path / "q.txt"))
    assert got[:3] == ["a", "red", "circle"] and "red circle" in got and "red circles" in got
    assert "sky background" in got and len(got) == len(set(got)) == 3 + counts["added"]
    assert "square" in counts["words_missing_from_embedded"]


def test_eval_sets_are_held_out_and_well_formed(tmp_path):
    n = evalset.write_imagefolder(str(tmp_path / "img"), per_class=2, seed=0, kind="color-shape")
    folders = sorted(os.listdir(tmp_path / "img"))
    assert n == 2 * len(folders) == 2 * len(concepts.COLORS) * len(concepts.SHAPES)
    assert "red circle" in folders
    img = Image.open(glob.glob(str(tmp_path / "img" / "red circle" / "*.jpg"))[0])
    assert img.size == (evalset.EVAL_SIZE, evalset.EVAL_SIZE)
    evalset.write_imagefolder(str(tmp_path / "col"), per_class=1, seed=0)  # default: colours
    assert sorted(os.listdir(tmp_path / "col")) == sorted(concepts.COLORS)
    with pytest.raises(ValueError, match="one of"):
        evalset.classes("size")
    evalset.write_retrieval_table(str(tmp_path / "t.parquet"), 10, seed=0, port=99)
    rows = pq.read_table(str(tmp_path / "t.parquet")).to_pylist()
    assert len(rows) == 10 and all(":99/img/heldout-" in r["url"] for r in rows)
    assert all(r["caption"] for r in rows)


def test_stages_reuse_redo_on_change_and_clean(tmp_path):
    st = Stages(str(tmp_path))
    out = tmp_path / "thing"
    calls = []

    def make():
        calls.append(1)
        out.mkdir(exist_ok=True)
        (out / "f").write_text("x")

    check = lambda: (out / "f").exists()  # noqa: E731
    st.run("s", {"k": 1}, check, make, clean=(str(out),))
    st.run("s", {"k": 1}, check, make, clean=(str(out),))
    assert len(calls) == 1 and st.timings[-1][2] is True
    (out / "old").write_text("stale")
    st.run("s", {"k": 2}, check, make, clean=(str(out),))
    assert len(calls) == 2 and not (out / "old").exists()
    with pytest.raises(StageFailed):
        st.run("t", {}, lambda: False, lambda: None)
    assert st.fingerprint("s") != st.fingerprint("t") == "missing"
    with pytest.raises(StageFailed, match="exited 2"):
        st.command("bad", ["pipeline", "report", str(tmp_path / "nope")])
    assert last_json_line('noise\n{"top1": 1}\n') == {"top1": 1}


def test_host_process_serves_then_stops_and_busy_ports_are_skipped(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert pick_port(taken) != taken
        with pytest.raises(RuntimeError, match="busy"):
            ImageHostProcess(taken, str(tmp_path / "log")).__enter__()
    port = pick_port(0)
    with ImageHostProcess(port, str(tmp_path / "log")) as h:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "GET", "/img/x.png?shape=circle&color=red", headers={"Host": "img0.openwit-demo.test"}
        )
        assert conn.getresponse().read()[:4] == b"\x89PNG"
    assert h.proc.poll() is not None  # stopped
    try:
        with ImageHostProcess(port, str(tmp_path / "log")) as h2:
            raise ValueError("a stage failed")
    except ValueError:
        pass
    assert h2.proc.poll() is not None  # stopped on error too


def test_host_process_serves_https_with_the_ca_it_writes(tmp_path):
    import ssl

    port = pick_port(0)
    with ImageHostProcess(port, str(tmp_path / "log"), str(tmp_path / "tls")):
        ctx = ssl.create_default_context(cafile=str(tmp_path / "tls" / "ca.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
        conn.request("GET", "/img/x.png?shape=circle", headers={"Host": "img0.openwit-demo.test"})
        assert conn.getresponse().read()[:4] == b"\x89PNG"
