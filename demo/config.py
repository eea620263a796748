"""The demo's settings and where each of its stages writes.

`DemoConfig`: the demo's flags (the CLI in `demo.__main__`); `Paths(out)`: every file and
folder under the demo's output; `download_flags(cfg)`: the flags every download of the demo
takes (only 127.0.0.1 opened, the image host's CA, short timeouts).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from synth import concepts


@dataclass(frozen=True)
class DemoConfig:
    out: str = os.path.join("out", "demo")
    pages: int = 2500
    files: int = 4
    seed: int = 0
    port: int = 18765
    hostile_fraction: float = 0.02
    max_per_query: int = 50
    image_size: int = 64
    eval_classes: str = "color"
    eval_per_class: int = 40
    retrieval_n: int = 500
    epochs: int = 6
    batch_size: int = 128
    lr: float = 2e-3
    workers: int = 1
    languages: str = "en"  # more than one (en,de): worldwide curation over per-language lists

    @property
    def other_languages(self) -> list[str]:
        return [x for x in dict.fromkeys(self.languages.split(",")) if x and x != "en"]


class Paths:
    def __init__(self, out: str):
        self.out = out
        self.embedded = os.path.join(out, "queries.parquet")
        self.queries = os.path.join(out, "queries_demo.txt")
        self.lists = os.path.join(out, "lists")  # per-language lists (--languages en,XX)
        self.crawl = os.path.join(out, "crawl")
        self.data = os.path.join(out, "data")
        self.heldout_table = os.path.join(out, "heldout_urls.parquet")
        self.heldout = os.path.join(out, "heldout")
        self.eval_images = os.path.join(out, "eval_images")
        self.run = os.path.join(out, "runs", "tiny")
        self.zeroshot = os.path.join(out, "zeroshot.json")
        self.retrieval = os.path.join(out, "retrieval.json")
        self.host_log = os.path.join(out, "logs", "image_host.log")
        self.tls = os.path.join(out, "tls")  # the image host's test CA (ca.pem), made at start


def download_flags(cfg: DemoConfig) -> list[str]:
    # Only 127.0.0.1 is opened; the synthetic hosts' names map to it. Short timeouts keep the
    # slow/endless hostile routes from dominating the demo's wall time.
    # The image host speaks https too (on the same port), with a CA it makes when it starts.
    return [
        "--ca-bundle",
        os.path.join(Paths(cfg.out).tls, "ca.pem"),
        "--resolve",
        f"*.{concepts.DOMAIN}:127.0.0.1",
        "--allow-networks",
        "127.0.0.1/32",
        "--image-size",
        str(cfg.image_size),
        "--shard-size",
        "2000",
        "--timeout",
        "2",
        "--retries",
        "1",
    ]
