"""worker: many fetching threads per shard, but at most IMAGE_SLOTS images processed at once."""

from __future__ import annotations

import threading
import time

from pipeline.download import shardio, worker
from pipeline.download.fetch import Fetcher
from pipeline.download.options import DownloadConfig
from tests.pipeline.download.conftest import RESOLVE


def test_image_processing_runs_in_at_most_image_slots_threads(host, tmp_path, monkeypatch):
    slots = worker.IMAGE_SLOTS._initial_value
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
                         resolve=(RESOLVE,), threads=16, shard_size=100)  # fmt: skip
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
    assert peak[0] == slots >= 2  # busy enough to fill every slot, never more


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
