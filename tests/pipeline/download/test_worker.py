"""worker: many fetching threads per shard, but at most `--image-threads` images processed at
once (the launcher's choice for local runs: the cores per worker process)."""

from __future__ import annotations

import os
import threading
import time

import apache_beam as beam
import pytest

from pipeline.download import shardio, worker
from pipeline.download.fetch import Fetcher
from pipeline.download.options import DownloadConfig
from tests.pipeline.download.conftest import RESOLVE


@pytest.mark.parametrize("image_threads", [0, 1, 3])
def test_image_processing_runs_in_at_most_image_slots_threads(
    host, tmp_path, monkeypatch, image_threads
):
    slots = image_threads or worker.DEFAULT_IMAGE_THREADS
    running, peak, lock, real = [0], [0], threading.Lock(), worker.process

    def slow_process(data, cfg):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)  # long enough that free threads would pile in
        try:
            return real(data, cfg)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(worker, "process", slow_process)
    cfg = DownloadConfig(output=str(tmp_path), allow_networks=("127.0.0.1/32",),
                         resolve=(RESOLVE,), threads=16, shard_size=100,
                         image_threads=image_threads)  # fmt: skip
    for sub in ("shards", shardio.HASHES_DIR):
        (tmp_path / sub).mkdir()
    rows = [(i, {"url": host.url("127.0.0.1", f"/img/s{i}.png?w=64&h=48"), "caption": f"c{i}"})
            for i in range(40)]  # fmt: skip
    fetcher = Fetcher(cfg)
    try:
        stats = worker.download_shard(0, rows, cfg, fetcher)
    finally:
        fetcher.close()
    assert stats["successes"] == 40
    assert peak[0] == slots  # busy enough to fill every slot, never more


def test_worker_setup_freezes_the_startup_heap(tmp_path):
    import gc

    from pipeline.download import allocator
    from pipeline.download.graph import ReadHashesFn
    from pipeline.download.transforms import DownloadShardFn

    for fn in (DownloadShardFn(DownloadConfig(output=str(tmp_path))), ReadHashesFn("unused")):
        gc.unfreeze()
        allocator._frozen = False
        try:
            fn.setup()
            assert gc.get_freeze_count() > 10_000  # the imports' objects
        finally:
            gc.unfreeze()
            if hasattr(fn, "teardown"):
                fn.teardown()


@pytest.mark.parametrize(
    ("args", "chosen", "expected"),
    [
        (["--direct_num_workers=2"], 0, max(1, (os.cpu_count() or 1) // 2)),
        (["--direct_num_workers=1"], 0, os.cpu_count() or 1),
        (["--direct_num_workers=64"], 0, 1),
        (["--direct_num_workers=2", "--direct_running_mode=multi_threading"], 0, os.cpu_count()),
        (["--direct_num_workers=2"], 5, 5),  # the user's choice stands
        (["--runner=PortableRunner", "--job_endpoint=localhost:1"], 0, 0),  # processes decide
    ],
)
def test_launcher_gives_each_local_worker_process_its_share_of_the_cores(args, chosen, expected):
    from pipeline.download.transforms import image_threads
    from runtime.beam import pipeline_options

    p = beam.Pipeline(options=pipeline_options(args))
    cfg = DownloadConfig(output="unused", image_threads=chosen)
    assert image_threads(p, cfg) == expected
