"""The demo's stages in order, each through the project's own CLI, each reused when done.

queries -> crawl (+ held-out eval images and retrieval table) -> `pipeline run` (image host
up) -> held-out shards (`pipeline download`) -> `trainer train` -> `trainer zeroshot` ->
`trainer retrieval` -> `pipeline report`. Paths are those of `demo.config.Paths`; flags those
of `demo.config.DemoConfig` (the CLI in `demo.__main__`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
from dataclasses import asdict

from demo import evalset, world
from demo.checks import json_ok, shard_spec, verified
from demo.config import DemoConfig, Paths, download_flags
from demo.host import ImageHostProcess, pick_port, port_free
from demo.stages import Stages, last_json_line
from schemas.layout import write_text_atomic

WORLD_LIST_SIZE = 20_000  # the other languages' embedded lists, trimmed: the demo stays quick


class Demo:
    def __init__(self, cfg: DemoConfig):
        self.cfg, self.p, self.st = cfg, Paths(cfg.out), Stages(cfg.out)
        self.results: dict = {}
        self._host: ImageHostProcess | None = None

    def params(self, *upstream: str, **extra) -> dict:
        return {**extra, **{f"after_{u}": self.st.fingerprint(u) for u in upstream}}

    def queries(self) -> None:
        p = self.p
        self.st.run(
            "queries_embedded",
            {},
            lambda: os.path.isfile(p.embedded),
            lambda: self.st.command(
                "queries_embedded", ["queries", "build", "--embedded", "--out", p.embedded]
            ),
        )
        self.results["queries"] = self.st.run(
            "queries",
            self.params("queries_embedded"),
            lambda: os.path.isfile(p.queries),
            lambda: world.write_queries(p.embedded, p.queries),
        )
        if self.cfg.other_languages:
            self.st.run(
                "queries_world",
                self.params("queries", languages=self.cfg.languages),
                lambda: os.path.isdir(p.lists),
                self._world_lists,
                clean=(p.lists,),
            )

    def _world_lists(self) -> None:
        """`lists/en.txt` (the demo's list) and `lists/XX.parquet` (wordfreq's, trimmed)."""
        os.makedirs(self.p.lists + ".tmp", exist_ok=True)
        with open(self.p.queries, encoding="utf-8") as f:
            write_text_atomic(os.path.join(self.p.lists + ".tmp", "en.txt"), f.read())
        for lang in self.cfg.other_languages:
            out = os.path.join(self.p.lists + ".tmp", f"{lang}.parquet")
            args = ["--embedded", "--language", lang, "--max-size", str(WORLD_LIST_SIZE)]
            self.st.command("queries_world", ["queries", "build", *args, "--out", out])
        os.replace(self.p.lists + ".tmp", self.p.lists)

    def choose_port(self) -> int:
        """The crawl's port if written before and free (or no longer needed), else a new one."""
        try:
            with open(os.path.join(self.st.stamp_dir, "crawl.json"), encoding="utf-8") as f:
                old = json.load(f)["params"]["port"]
        except (OSError, ValueError, KeyError):
            return pick_port(self.cfg.port)
        if port_free(old) or (verified(self.p.data) and verified(self.p.heldout)):
            return old
        return pick_port(self.cfg.port)

    def world(self, port: int) -> None:
        c, p = self.cfg, self.p
        crawl_params = {
            "pages": c.pages,
            "files": c.files,
            "seed": c.seed,
            "port": port,
            "hostile_fraction": c.hostile_fraction,
        }
        self.st.run(
            "crawl",
            crawl_params,
            lambda: len(glob.glob(f"{p.crawl}/*.warc.gz")) == c.files,
            lambda: world.write_crawl(p.crawl, c.pages, c.files, c.seed, port, c.hostile_fraction),
            clean=(p.crawl,),
        )
        self.st.run(
            "eval_images",
            {"per_class": c.eval_per_class, "seed": c.seed, "kind": c.eval_classes},
            lambda: os.path.isdir(p.eval_images),
            self._eval_images,
            clean=(p.eval_images, p.eval_images + ".tmp"),
        )
        self.st.run(
            "heldout_table",
            {"n": c.retrieval_n, "seed": c.seed, "port": port},
            lambda: os.path.isfile(p.heldout_table),
            lambda: evalset.write_retrieval_table(p.heldout_table, c.retrieval_n, c.seed, port),
        )

    def _eval_images(self) -> int:
        return evalset.write_imagefolder(
            self.p.eval_images, self.cfg.eval_per_class, self.cfg.seed, self.cfg.eval_classes
        )

    def host(self, stack: contextlib.ExitStack, port: int) -> None:
        """Start the image host the first time a stage needs it; the stack stops it."""
        if self._host is None:
            print(f"[demo] image host: starting on 127.0.0.1:{port}", flush=True)
            self._host = stack.enter_context(ImageHostProcess(port, self.p.host_log, self.p.tls))

    def data(self, stack: contextlib.ExitStack, port: int) -> None:
        """`pipeline run` over the crawl into `data`, then the held-out download."""
        c, p = self.cfg, self.p
        flags = download_flags(c)
        params = self.params("crawl", "queries", flags=flags, t=c.max_per_query)
        if c.other_languages:
            params["languages"] = c.languages

        def run_pipeline() -> None:
            self.host(stack, port)
            self.st.command("pipeline_run", [*self._pipeline_args(), *flags])

        self.st.run("pipeline_run", params, lambda: verified(p.data), run_pipeline, clean=(p.data,))

        def heldout() -> None:
            self.host(stack, port)
            self.st.command(
                "heldout_download",
                [
                    "pipeline",
                    "download",
                    "--manifest",
                    p.heldout_table,
                    "--output",
                    p.heldout,
                    *flags,
                ],
            )

        self.st.run(
            "heldout_download",
            self.params("heldout_table", flags=flags),
            lambda: verified(p.heldout),
            heldout,
            clean=(p.heldout,),
        )

    def _pipeline_args(self) -> list[str]:
        """`pipeline run` over the crawl, or `pipeline download` when curate finished before
        (the download resumes: it skips complete shards); without the download flags."""
        c, p = self.cfg, self.p
        if os.path.isfile(os.path.join(p.data, "curate", "stats.json")):
            return ["pipeline", "download", "--manifest", os.path.join(p.data, "curate"),
                    "--output", p.data]  # fmt: skip
        queries = [p.lists, "--languages", "all"] if c.other_languages else [p.queries]
        return ["pipeline", "run", "--input", os.path.join(p.crawl, "*.warc.gz"),
                "--queries", *queries, "--output", p.data,
                "--max-per-query", str(c.max_per_query)]  # fmt: skip

    def train(self) -> None:
        c, p = self.cfg, self.p
        args = [
            "trainer",
            "train",
            "--train-data",
            shard_spec(p.data),
            "--model",
            "tiny",
            "--output",
            p.run,
            "--epochs",
            str(c.epochs),
            "--batch-size",
            str(c.batch_size),
            "--lr",
            str(c.lr),
            "--warmup",
            "30",
            "--workers",
            str(c.workers),
            "--vocab-size",
            "1000",
            "--device",
            "cpu",
            "--log-every",
            "10",
            "--save-every",
            "100000",
            "--keep-checkpoints",
            "1",
            "--no-progress",
            "--resume",
            "latest",
            "--seed",
            str(c.seed),
        ]
        self.st.run(
            "train",
            self.params("pipeline_run", args=args[4:]),
            lambda: bool(self.checkpoint()),
            lambda: self.st.command("train", args),
            clean=(p.run,),
        )

    def checkpoint(self) -> str | None:
        found = sorted(glob.glob(os.path.join(self.p.run, "checkpoints", "step_*.pt")))
        return found[-1] if found else None

    def evaluate(self) -> None:
        p = self.p

        def save(name: str, path: str, args: list[str]):
            def action():
                printed = self.st.command(name, args, capture=True)
                last_json_line(printed)  # must parse; saved exactly as printed
                write_text_atomic(path, printed)

            self.st.run(
                name,
                self.params("train", "eval_images", "heldout_download"),
                lambda: json_ok(path),
                action,
            )

        ckpt = self.checkpoint()
        save(
            "zeroshot",
            p.zeroshot,
            ["trainer", "zeroshot", "--checkpoint", ckpt, "--images", p.eval_images],
        )
        save(
            "retrieval",
            p.retrieval,
            ["trainer", "retrieval", "--checkpoint", ckpt, "--data", shard_spec(p.heldout)],
        )

    def report(self) -> str:
        # Always rewritten: cheap, and it should show the latest training and evaluation.
        self.st.command("report", ["pipeline", "report", self.p.data, "--train-run", self.p.run])
        return os.path.join(self.p.data, "report.html")

    def run(self) -> dict:
        self.queries()
        port = self.choose_port()
        self.world(port)
        with contextlib.ExitStack() as stack:
            self.data(stack, port)
        self.train()
        self.evaluate()
        report = self.report()
        return {"config": asdict(self.cfg), "port": port, "report": report}
