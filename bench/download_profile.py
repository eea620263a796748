"""Where a downloaded image's CPU goes, per stage, in milliseconds (one process, one thread).

    NO_ALBUMENTATIONS_UPDATE=1 .venv/bin/python bench/download_profile.py [--images 300] [--https]

Serves bench/download.py's image mix from the local image host (own process, pre-rendered),
fetches each image once with every check on (address policy, robots.txt, X-Robots-Tag,
content type; one kept-alive connection), then times each stage of `imaging.process` on the
fetched bytes (best of 3 passes). CPU time (`time.process_time`), so the numbers hold on a
shared machine. With `--https` the fetches go over TLS (the CPU of the record encryption and
of one handshake shows in the fetch line).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.download import make_urls, start_host  # noqa: E402
from pipeline.download import allocator, imaging  # noqa: E402
from pipeline.download.fetch import Fetcher  # noqa: E402
from pipeline.download.options import DownloadConfig  # noqa: E402

STAGES = ("fetch", "open+decode", "resize", "encode", "phash", "sha256")


def fetch_all(urls: list[str], cfg: DownloadConfig) -> tuple[list[bytes], float]:
    fetcher = Fetcher(cfg)
    fetcher.fetch_image(urls[0])  # robots.txt and the connection: not per-image costs
    start = time.process_time()
    bodies = [fetcher.fetch_image(u)[0] for u in urls]
    return bodies, time.process_time() - start


def stage_times(bodies: list[bytes], cfg: DownloadConfig) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(3):
        spent = dict.fromkeys(STAGES[1:], 0.0)
        for data in bodies:
            t0 = time.process_time()
            img, _ = imaging.open_checked(data, cfg)
            t1 = time.process_time()
            final, scaled = imaging.resize(img, cfg.image_size, cfg.resize_mode)
            t2 = time.process_time()
            imaging.encode(final, cfg.encode_format, cfg.encode_quality)
            t3 = time.process_time()
            imaging.phash(scaled)
            t4 = time.process_time()
            hashlib.sha256(data).hexdigest()
            t5 = time.process_time()
            for k, v in zip(STAGES[1:], (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                spent[k] += v
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--port", type=int, default=18951)
    ap.add_argument("--https", action="store_true")
    args = ap.parse_args()
    allocator.tune()  # as a download worker does
    with tempfile.TemporaryDirectory() as tmp:
        urls = make_urls(args.port, args.images)
        with open(os.path.join(tmp, "urls.txt"), "w") as f:
            f.write("\n".join(urls))
        host = start_host(args.port, os.path.join(tmp, "urls.txt"), os.path.join(tmp, "tls"))
        try:
            extra = {}
            if args.https:
                urls = [
                    u.replace("http://127.0.0.1", "https://bench.openwit-demo.test") for u in urls
                ]
                with open(os.path.join(tmp, "tls", "ca.pem")) as f:
                    extra = dict(resolve=("bench.openwit-demo.test:127.0.0.1",), ca_pem=f.read())
            cfg = DownloadConfig(output=tmp, allow_networks=("127.0.0.1/32",), **extra)
            bodies, fetch_cpu = fetch_all(urls, cfg)
        finally:
            host.terminate()
            host.wait()
    spent = {"fetch": fetch_cpu, **stage_times(bodies, cfg)}
    total = sum(spent.values())
    print(f"{len(bodies)} images ({'https' if args.https else 'http'}), CPU ms per image:")
    for k in STAGES:
        print(f"  {k:<12} {1000 * spent[k] / len(bodies):6.2f}  ({spent[k] / total:5.1%})")
    print(f"  {'total':<12} {1000 * total / len(bodies):6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
