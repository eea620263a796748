"""`pipeline download` end to end: Beam (FnApiRunner, multi-processing) against the real
local image host; shards read back with webdataset and `verify`; resume; dedup; exclusion."""

from __future__ import annotations

import glob
import json
import os
import shutil

import pyarrow.parquet as pq
import pytest
import webdataset as wds

from pipeline.verify import verify
from synth.concepts import HOSTILE_ROUTES, IMAGE_HOSTS
from tests.pipeline.download.conftest import download, write_jsonl

FLAGS = ["--shard-size", "16", "--timeout", "1", "--retries", "1", "--min-image-size", "10",
         "--max-bytes", "2000000"]  # fmt: skip
EXPECTED = {  # caption -> (status, reason)
    "slow-first-byte": ("failed", "timeout"),
    "slow-body": ("failed", "timeout"),
    "reset": ("failed", "connection_reset"),
    "404": ("failed", "http_error"),
    "410": ("failed", "http_error"),
    "429": ("failed", "http_error"),
    "503": ("failed", "http_error"),
    "500-then-200": ("success", None),
    "redirect-chain": ("success", None),
    "redirect-loop": ("failed", "too_many_redirects"),
    "redirect-private": ("failed", "blocked_address"),
    "redirect-metadata": ("failed", "blocked_address"),
    "wrong-content-type": ("failed", "content_type"),
    "html": ("failed", "not_image"),
    "truncated-jpeg": ("failed", "decode_error"),
    "corrupt-png": ("failed", "decode_error"),
    "bomb": ("failed", "decompression_bomb"),
    "endless": ("failed", "too_large"),
    "pixel": ("failed", "too_small"),
    "noai": ("failed", "x_robots_tag"),
    "robots-private": ("failed", "robots_txt"),
    "no-url": ("failed", "bad_url"),
    "private-ip": ("failed", "blocked_address"),
    "exact-dup": ("duplicate", "exact_duplicate"),
    "near-dup": ("duplicate", "near_duplicate"),
}


def rows_for(host) -> list[dict]:
    rows = []
    for i in range(24):
        ext = ("jpg", "png", "webp", "gif")[i % 4]
        url = host.url(IMAGE_HOSTS[i % 4], f"/img/ok{i}.{ext}?count={1 + i % 4}")
        rows.append({"url": url, "caption": f"ok {i}"})
    near = host.url(IMAGE_HOSTS[1], "/img/near.jpg?shape=star&color=red&bg=sky&count=2")
    rows.append({"url": near, "caption": "near original"})
    rows.append({"url": near + "&mode=cmyk", "caption": "near-dup"})
    rows.append({"url": rows[0]["url"], "caption": "exact-dup"})
    for route in HOSTILE_ROUTES:
        rows.append(
            {"url": host.url(IMAGE_HOSTS[0], f"/hostile/{route}/{route}"), "caption": route}
        )
    rows.append({"url": host.url(IMAGE_HOSTS[2], "/private/p.jpg"), "caption": "robots-private"})
    rows.append({"url": None, "caption": "no-url"})
    rows.append({"url": "http://10.0.0.5/x.jpg", "caption": "private-ip"})
    return rows


def parquet_rows(out: str) -> list[dict]:
    rows = []
    for p in sorted(glob.glob(os.path.join(out, "shards", "*.parquet"))):
        rows += pq.read_table(p).to_pylist()
    return rows


@pytest.fixture(scope="module")
def job(host, tmp_path_factory):
    base = tmp_path_factory.mktemp("dl")
    rows = rows_for(host)
    host.server.prerender(r["url"] for r in rows if r["url"])  # no drawing during the job
    manifest = write_jsonl(base / "in.jsonl", rows)
    out = str(base / "out")
    assert download(manifest, out, *FLAGS) == 0
    return manifest, out, rows


def test_every_row_gets_its_status_and_reason(job):
    _, out, rows = job
    got = parquet_rows(out)
    assert len(got) == len(rows) and [r["caption"] for r in got] == [r["caption"] for r in rows]
    for r in got:
        status, reason = EXPECTED.get(r["caption"], ("success", None))
        assert r["status"] == status, r
        assert (r["error_message"] or "").split(":")[0] == (reason or ""), r


def test_foreign_table_rows_have_no_matched_entries(job):
    _, out, _ = job
    assert {tuple(r["queries"]) for r in parquet_rows(out)} == {()}


def test_shards_read_back_with_webdataset_and_verify(job):
    _, out, _ = job
    problems, summary = verify(out)
    assert problems == [] and summary["tmp_files"] == 0
    sizes = json.load(open(os.path.join(out, "shards", "sizes.json")))
    tars = sorted(glob.glob(os.path.join(out, "shards", "*.tar")))
    ds = (
        wds.WebDataset(tars, shardshuffle=False)
        .decode("pil")
        .to_tuple("__key__", "jpg", "txt", "json")
    )
    samples = list(ds)
    assert len(samples) == sum(sizes.values()) == summary["samples"]
    ok = {r["key"] for r in parquet_rows(out) if r["status"] == "success"}
    assert {k for k, *_ in samples} == ok
    for key, img, txt, meta in samples:
        assert img.size == (256, 256) and meta["key"] == key and meta["caption"] == txt
        assert len(meta["sha256"]) == 64 and len(meta["phash"]) == 16


def test_job_files_agree(job):
    _, out, rows = job
    stats = json.load(open(os.path.join(out, "stats.json")))
    got = parquet_rows(out)
    assert stats["count"] == len(rows) and stats["successes"] == sum(
        r["status"] == "success" for r in got
    )
    assert stats["dedup"]["exact_duplicate"] == 1 and stats["dedup"]["near_duplicate"] == 1
    assert stats["errors"]["blocked_address"] == 3
    run = json.load(open(os.path.join(out, "run.json")))
    assert run["shards"] == len(json.load(open(os.path.join(out, "shards", "sizes.json"))))
    html = open(os.path.join(out, "report.html")).read()
    assert "data:image/jpeg;base64," in html and "blocked_address" in html


def test_resume_redoes_a_deleted_shard_identically_and_cleans_temp_files(job, tmp_path):
    manifest, out, _ = job
    copy = str(tmp_path / "out")
    shutil.copytree(out, copy)
    before = open(os.path.join(out, "shards", "00001.tar"), "rb").read()
    os.remove(os.path.join(copy, "shards", "00001.tar"))
    stale = os.path.join(copy, "shards", "00002.tar.openwit-tmp-deadbeef")
    open(stale, "wb").write(b"half a shard")
    assert download(manifest, copy, *FLAGS) == 0
    assert open(os.path.join(copy, "shards", "00001.tar"), "rb").read() == before
    assert not os.path.exists(stale)
    run = json.load(open(os.path.join(copy, "run.json")))
    assert run["resumed_shards"] == [0, 2, 3] and run["cleaned_tmp_files"]
    assert verify(copy)[0] == []


def test_exclude_images_marks_eval_overlap(job, tmp_path):
    manifest, out, rows = job
    copy = str(tmp_path / "out")
    shutil.copytree(out, copy)
    evals = tmp_path / "eval" / "class_a"
    evals.mkdir(parents=True)
    from synth import draw

    path, _, query = rows[5]["url"].partition("://")[2].partition("/")[2].partition("?")
    (evals / "x.png").write_bytes(draw.render("/" + path, query)[0])
    assert download(manifest, copy, *FLAGS, "--exclude-images", str(tmp_path / "eval")) == 0
    got = {r["caption"]: r for r in parquet_rows(copy)}
    assert got["ok 5"]["status"] == "excluded"
    assert got["ok 5"]["error_message"].startswith("eval_overlap")
    assert json.load(open(os.path.join(copy, "stats.json")))["dedup"]["excluded"] == 1
    assert verify(copy)[0] == []


def test_dedup_in_the_launcher_equals_dedup_on_the_workers(job, tmp_path, monkeypatch):
    from pipeline.download import dedup_local

    manifest, out, _ = job
    calls = []
    real = dedup_local.run
    monkeypatch.setattr(dedup_local, "run", lambda *a: calls.append(a) or real(*a))
    in_launcher = str(tmp_path / "launcher")
    assert download(manifest, in_launcher, *FLAGS) == 0
    assert len(calls) == 1  # a small job on the local runner: dedup in the launcher
    monkeypatch.setattr(dedup_local, "MAX_ROWS", 0)
    on_workers = str(tmp_path / "workers")
    assert download(manifest, on_workers, *FLAGS) == 0
    assert len(calls) == 1  # over MAX_ROWS: the job graph's dedup
    assert parquet_rows(in_launcher) == parquet_rows(on_workers)
    assert sum(r["status"] == "duplicate" for r in parquet_rows(on_workers)) >= 2
    for tar in sorted(glob.glob(os.path.join(on_workers, "shards", "*.tar"))):
        with open(tar, "rb") as a, open(tar.replace(on_workers, in_launcher), "rb") as b:
            assert a.read() == b.read(), tar
    stats = [json.load(open(os.path.join(d, "stats.json"))) for d in (in_launcher, on_workers)]
    assert stats[0]["dedup"] == stats[1]["dedup"] and stats[0]["dedup"]["groups"] >= 2


@pytest.mark.slow
def test_kill_and_rerun_gives_the_same_shards(job, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.pipeline.download.conftest import SAFE

    manifest, ref, _ = job
    out = str(tmp_path / "out")
    cmd = [sys.executable, "-m", "pipeline", "download", "--manifest", manifest, "--output", out,
           *SAFE, *FLAGS, "--direct_num_workers=2"]  # fmt: skip
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not glob.glob(os.path.join(out, "shards", "*.tar")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, Beam workers included
    proc.wait()
    assert not os.path.exists(os.path.join(out, "shards", "sizes.json"))  # killed mid-job
    assert download(manifest, out, *FLAGS) == 0
    for name in ("00000.tar", "00001.tar", "00002.tar", "00003.tar", "sizes.json"):
        a = open(os.path.join(ref, "shards", name), "rb").read()
        assert a == open(os.path.join(out, "shards", name), "rb").read(), name
    assert parquet_rows(out) == parquet_rows(ref)


def test_resume_refuses_shards_written_with_other_flags(job, tmp_path, capsys):
    manifest, out, _ = job
    copy = str(tmp_path / "out")
    shutil.copytree(out, copy)
    assert download(manifest, copy, *FLAGS, "--image-size", "128") == 2
    assert "image_size" in capsys.readouterr().err


def test_an_empty_manifest_is_an_empty_complete_output(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("")
    out = str(tmp_path / "out")
    assert download(str(manifest), out) == 0
    with open(os.path.join(out, "shards", "sizes.json")) as f:
        assert json.load(f) == {}
    with open(os.path.join(out, "stats.json")) as f:
        stats = json.load(f)
    assert stats["count"] == 0 and stats["shards"] == 0
    assert os.path.exists(os.path.join(out, "run.json"))
    problems, totals = verify(out)
    assert problems == [] and totals["shards"] == 0
