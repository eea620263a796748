"""Flags, pass-through Beam options (Dataflow, Spark's portable runner), errors before any job,
and the job graph built offline with Dataflow options (apache-beam[gcp] is not installed here,
so the job itself cannot be submitted; its graph and pickled DoFns are what it would send)."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PortableOptions,
    StandardOptions,
)

from pipeline.curate import cli, graph, options
from runtime.beam import local_defaults, pipeline_options

DATAFLOW = [
    "--runner",
    "DataflowRunner",
    "--project",
    "openwit-demo",
    "--region",
    "europe-west4",
    "--temp_location",
    "gs://openwit-demo/tmp",
    "--staging_location",
    "gs://openwit-demo/staging",
    "--max_num_workers",
    "50",
]
BASE = [
    "--input",
    "gs://commoncrawl/crawl-data/*.warc.gz",
    "--queries",
    "gs://b/q.parquet",
    "--output",
    "gs://b/out/",
]


def test_our_flags_and_beam_flags_are_separated():
    opts, beam_args = options.parse(
        [
            *BASE,
            "--languages",
            "en,de",
            "--languages",
            "fr",
            "--balance",
            "exact",
            "--seed",
            "3",
            *DATAFLOW,
        ]
    )
    assert opts.input == ("gs://commoncrawl/crawl-data/*.warc.gz",)
    assert opts.output == "gs://b/out" and opts.languages == ("en", "de", "fr")
    assert (opts.balance, opts.seed, opts.max_per_query, opts.lang_threshold) == (
        "exact",
        3,
        20000,
        0.5,
    )
    assert beam_args == DATAFLOW
    assert options.workers(beam_args) == 50


def test_input_flag_repeats_and_takes_several_values():
    opts, _ = options.parse(
        [
            "--input",
            "a.warc.gz",
            "b.wat.gz",
            "--input",
            "c.csv",
            "--queries",
            "q.txt",
            "--output",
            "o",
        ]
    )
    assert opts.input == ("a.warc.gz", "b.wat.gz", "c.csv")


def test_dataflow_options_parse():
    o = pipeline_options(DATAFLOW)
    gcp = o.view_as(GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == (
        "openwit-demo",
        "europe-west4",
        "gs://openwit-demo/tmp",
    )
    assert o.view_as(StandardOptions).runner == "DataflowRunner"
    assert not any("direct" in a for a in local_defaults(DATAFLOW))


def test_spark_portable_runner_flags_pass_through():
    spark = [
        "--runner=PortableRunner",
        "--job_endpoint=localhost:8099",
        "--environment_type=LOOPBACK",
    ]
    _, beam_args = options.parse([*BASE, *spark])
    o = pipeline_options(beam_args)
    assert o.view_as(PortableOptions).job_endpoint == "localhost:8099"
    assert local_defaults(beam_args) == spark


def test_job_graph_builds_offline_with_dataflow_options(tmp_path, queries_txt):
    opts, beam_args = options.parse(
        ["--input", "x", "--queries", queries_txt, "--output", str(tmp_path / "o"), *DATAFLOW]
    )
    p = beam.Pipeline(options=pipeline_options(beam_args))
    # paths stay local: resolving gs:// paths needs apache-beam[gcp], which this install lacks
    spill = options.spills(opts.exchange, beam_args)
    assert not spill  # a runner with a shuffle service: its shuffles, no spill files
    graph.build(
        p,
        opts,
        ["gs://commoncrawl/a.warc.gz"],
        "qhash",
        str(tmp_path / "tmp"),
        reshuffle=True,
        spill=spill,
    )
    proto = p.to_runner_api()  # pickles every DoFn, as a submission would
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert not {"Dedup/Buckets", "Read/Spill", "Read/Load", "Balance/Spill"} & names
    for name in (
        "Read/ReadFile",
        "Read/Reshuffle",
        "Normalize/Filter",
        "Language/Lid176",
        "Dedup/GroupByBucket",
        "Dedup/Pick",
        "Match/Match",
        "Balance/CountPerQuery",
        "Balance/Balance",
        "Manifest/Parts/WriteBundles",
        "RejectsRead/WriteBundles",
        "RejectsBalance/WriteBundles",
        "Rejects/Commit",
    ):
        assert name in names


def test_exchange_auto_spills_only_on_the_local_runners():
    assert options.spills("auto", []) and options.spills("auto", ["--runner=DirectRunner"])
    assert not options.spills("auto", DATAFLOW)
    assert not options.spills("auto", ["--runner=PortableRunner"])
    assert not options.spills("shuffle", []) and options.spills("spill", DATAFLOW)


def test_reshuffle_auto_when_files_are_few():
    assert options.should_reshuffle("auto", 1, 2)
    assert not options.should_reshuffle("auto", 8, 2)
    assert options.should_reshuffle("always", 8, 2) and not options.should_reshuffle("never", 1, 2)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--input", "/nonexistent/*.warc.gz"], "matches no file"),
        (["--input", "{tmp}/x.txt"], "unknown input format"),
        (["--input", "{tmp}/a.warc.gz", "--queries", "{tmp}/q.csv"], "unknown query list format"),
        (
            ["--input", "{tmp}/a.warc.gz", "--queries", "{tmp}/missing.txt"],
            "cannot read query list",
        ),
    ],
)
def test_errors_before_the_job_exit_2(tmp_path, capsys, queries_txt, argv, message):
    for name in ("x.txt", "a.warc.gz", "q.csv"):
        (tmp_path / name).write_bytes(b"")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--queries" not in argv:
        argv += ["--queries", queries_txt]
    assert cli.run([*argv, "--output", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
