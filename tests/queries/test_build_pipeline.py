"""`python -m queries build` end to end on the real Beam FnApiRunner, and `queries stats`.

The hand corpus (counts worked out by hand in the comments) spans two dump files, one
bz2-compressed; redirects, Talk/User/File pages, templates and refs repeat its words and
must not count.
"""

import bz2
import glob
import math
import os

import pyarrow.parquet as pq
import pytest

from queries.cli import main
from tests.queries.fixtures import wiki, wordnet

# Words per run: "Hong Kong is a city" | "Hong Kong is big" | "History" |
# "The city is in Hong Kong"                                    -> 16 tokens
FILE1 = [
    (
        "Hong Kong",
        0,
        "{{Infobox city|name=Hong Kong Hong Kong}}\n'''Hong Kong''' is a city.<ref>Hong Kong "
        "Times</ref> Hong Kong is big.\n== History ==\n[[Kowloon|The city]] is in "
        "[[Hong Kong]].\n[[Category:Hong Kong]]\n[[File:HK.jpg|thumb|Hong Kong]]",
    ),
    ("HK", 0, "#REDIRECT [[Hong Kong]] Hong Kong", "Hong Kong"),
    ("Talk:Hong Kong", 1, "Hong Kong Hong Kong Hong Kong"),
    ("User:Someone", 2, "Hong Kong city city"),
    ("File:Hong Kong.jpg", 6, "Hong Kong skyline"),
]
# "A dog is a pet" | "The dog barks" | "the dog sleeps"          -> 11 tokens
FILE2 = [("Dog", 0, "A ''dog'' is a [[domestic animal|pet]]. The dog barks, the dog sleeps.")]
N = 27
# Counts: Hong 3, Kong 3, is 4, dog 3, a 2, city 2, The 2, 1 for the rest.
# Bigrams seen >= 2 times: "Hong Kong" 3, "Kong is" 2, "is a" 2.
PMI = {"Hong Kong": math.log2(3 * N / (3 * 3)), "is a": math.log2(2 * N / (4 * 2))}
# "Kong is": log2(2 * 27 / (3 * 4)) = 2.17 < 2.5, so it is left out.
FLAGS = ["--unigram-min-count", "3", "--bigram-min-count", "2", "--bigram-min-pmi", "2.5"]
PAGEVIEWS = [
    [
        "en Hong_Kong 100 0",
        "en Kowloon 50 0",
        "en.m Mong_Kok 500 0",
        "en dog 500 0",
        "en Talk:Hong_Kong 900 0",
        "en Tsim_Sha_Tsui 69 0",
        "en Foo notanumber 0",
    ],
    ["en Kowloon 30 0", "en Sha%20Tin 70 0"],
]
EXPECTED = [
    ("is", "unigram", 4.0),
    ("Hong", "unigram", 3.0),
    ("Kong", "unigram", 3.0),
    ("dog", "unigram", 3.0),
    ("Hong Kong", "bigram", PMI["Hong Kong"]),
    ("is a", "bigram", PMI["is a"]),
    ("Kowloon", "title", 80.0),
    ("Sha Tin", "title", 70.0),
] + [
    (q, "wordnet", 0.0)
    for q in ["Paris", "able", "asleep", "barely", "eat", "entity", "galore", "hot dog"]
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    wiki.write_dump(str(d / "enwiki-pages-articles1.xml.bz2"), FILE1)
    wiki.write_dump(str(d / "enwiki-pages-articles2.xml"), FILE2)
    views = [
        wiki.write_pageviews(str(d / f"pageviews-2024010{i}-000000.gz"), lines)
        for i, lines in enumerate(PAGEVIEWS)
    ]
    return {
        "args": [
            "--wikipedia-dump",
            str(d / "enwiki-pages-articles*.xml*"),
            "--pageviews",
            *views,
            "--wordnet",
            wordnet.write_wordnet(str(d / "wn")),
        ],
        "dir": d,
    }


def _rows(path):
    t = pq.read_table(path)
    assert t.schema.names == ["query", "source", "score"]
    return list(zip(*(t.column(c).to_pylist() for c in t.schema.names)))


def test_build_counts_thresholds_pmi_precedence_and_determinism(inputs, tmp_path, capsys):
    out1, out2 = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert (
        main(
            [
                "build",
                *inputs["args"],
                *FLAGS,
                "--out",
                str(out1),
                "--direct_running_mode=multi_processing",
                "--direct_num_workers=2",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "unigram" in printed and "251,465" in printed and "tokens 27" in printed
    rows = _rows(out1)
    assert [(q, s) for q, s, _ in rows] == [(q, s) for q, s, _ in EXPECTED]
    for (_, _, got), (_, _, want) in zip(rows, EXPECTED):
        assert got == pytest.approx(want, abs=1e-12)
    # Same inputs, other runner mode and worker count: the same bytes.
    assert (
        main(
            [
                "build",
                *inputs["args"],
                *FLAGS,
                "--out",
                str(out2),
                "--direct_running_mode=in_memory",
                "--direct_num_workers=1",
            ]
        )
        == 0
    )
    assert out1.read_bytes() == out2.read_bytes()
    # stats reads it back
    assert main(["stats", str(out1)]) == 0
    report = capsys.readouterr().out
    assert "16 entries" in report
    assert "bigram (highest scores): Hong Kong (3.16993)" in report


def test_synthetic_slice_has_every_source_and_no_markup_words(tmp_path, capsys):
    pages = wiki.synthetic_pages(120, seed=1)
    dump = wiki.write_dump(str(tmp_path / "slice.xml.bz2"), pages)
    views = wiki.write_pageviews(str(tmp_path / "pv.bz2"), wiki.slice_pageviews(pages))
    wn = wordnet.write_wordnet(str(tmp_path / "wn"))
    out = tmp_path / "q.parquet"
    assert (
        main(
            [
                "build",
                "--wikipedia-dump",
                dump,
                "--pageviews",
                views,
                "--wordnet",
                wn,
                "--unigram-min-count",
                "20",
                "--bigram-min-pmi",
                "8",
                "--bigram-min-count",
                "3",
                "--out",
                str(out),
                "--direct_running_mode=in_memory",
            ]
        )
        == 0
    )
    rows = _rows(out)
    sources = {s for _, s, _ in rows}
    assert sources == {"unigram", "bigram", "title", "wordnet"}
    assert not [q for q, _, _ in rows if any(w.startswith("zz") for w in q.lower().split())]
    assert all(c >= 20 for _, s, c in rows if s == "unigram")
    assert all(p >= 8 for _, s, p in rows if s == "bigram")
    assert all(v >= 70 for _, s, v in rows if s == "title")
    assert "articles 120" in capsys.readouterr().out


def _fails(argv, capsys, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    for needle in needles:
        assert needle in err


def test_bad_inputs_exit_2_naming_the_file(inputs, tmp_path, capsys):
    data = bz2.compress(wiki.dump_xml(wiki.synthetic_pages(40)).encode())
    cut = tmp_path / "pages-articles-cut.xml.bz2"
    cut.write_bytes(data[: len(data) // 2])
    notxml = tmp_path / "pages-articles-junk.xml"
    notxml.write_text("this is not xml")
    out = str(tmp_path / "q.parquet")
    beam = ["--direct_running_mode=in_memory"]
    _fails(
        ["build", "--wikipedia-dump", str(cut), "--out", out, *beam], capsys, str(cut), "truncated"
    )
    _fails(
        ["build", "--wikipedia-dump", str(notxml), "--out", out, *beam],
        capsys,
        str(notxml),
        "not a well-formed",
    )
    _fails(
        ["build", "--wordnet", str(tmp_path / "no-wn"), "--out", out],
        capsys,
        "no-wn: WordNet folder not found",
    )
    _fails(
        ["build", "--pageviews", str(tmp_path / "pv-missing.gz"), "--out", out],
        capsys,
        "pv-missing.gz: pageviews file not found",
    )
    _fails(
        ["build", "--wikipedia-dump", str(tmp_path / "none*.bz2"), "--out", out],
        capsys,
        "none*.bz2: Wikipedia dump file not found",
    )
    _fails(["build", "--out", out], capsys, "no source given")
    _fails(["stats", str(tmp_path / "absent.parquet")], capsys, "absent.parquet: file not found")
    _fails(["stats", str(notxml)], capsys, "not a readable parquet file")
    with pytest.raises(SystemExit) as exc:  # a misspelt flag of ours is not a Beam flag
        main(["build", "--embedded", "--out", out, "--unigram-mincount", "3"])
    assert exc.value.code == 2
    assert "--unigram-mincount" in capsys.readouterr().err


def test_embedded_build_and_max_size(tmp_path, capsys):
    out, small = tmp_path / "e.parquet", tmp_path / "s.parquet"
    wn = wordnet.write_wordnet(str(tmp_path / "wn"))
    assert main(["build", "--embedded", "--wordnet", wn, "--out", str(out)]) == 0
    rows = _rows(out)
    per_source = {s: sum(1 for _, x, _ in rows if x == s) for s in ("unigram", "wordnet")}
    assert per_source["unigram"] > 300_000
    # fixture WordNet entries that wordfreq lacks (one-word, lower-case entries only)
    assert [q for q, s, _ in rows if s == "wordnet"] == ["Hong Kong", "Paris", "hot dog"]
    assert (
        main(["build", "--embedded", "--wordnet", wn, "--max-size", "1000", "--out", str(small)])
        == 0
    )
    assert _rows(small) == rows[:1000]


@pytest.mark.slow
def test_build_on_a_dask_cluster_gives_the_same_bytes(inputs, dask_cluster, tmp_path, capsys):
    """Beam's Dask runner on a real 2-worker cluster: the same file as the FnApiRunner (the
    stats printed too: every writer ran, not only the last-applied one)."""
    local, dask = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    assert main(["build", *inputs["args"], *FLAGS, "--out", str(local)]) == 0
    want = capsys.readouterr().out
    runner = ["--runner", "apache_beam.runners.dask.dask_runner.DaskRunner"]
    address = ["--dask_client_address", dask_cluster.address]
    assert main(["build", *inputs["args"], *FLAGS, "--out", str(dask), *runner, *address]) == 0
    got = capsys.readouterr().out
    assert "tokens 27" in want and got.splitlines()[1:] == want.splitlines()[1:]
    assert dask.read_bytes() == local.read_bytes()


def test_build_from_a_dump_on_s3_on_dask(inputs, s3, dask_cluster, tmp_path, capsys):
    """The dump, pageviews and the job's temporary folder on the local S3 server, the counting
    on a 2-worker Dask cluster: the same file as the local build from local copies."""
    server, bucket = s3
    d = inputs["dir"]
    files = sorted(glob.glob(str(d / "enwiki-*"))) + sorted(glob.glob(str(d / "pageviews-*")))
    for path in files:
        server.client().upload_file(path, bucket, f"in/{os.path.basename(path)}")
    local, dask = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    assert main(["build", *inputs["args"], *FLAGS, "--out", str(local)]) == 0
    views = [f"s3://{bucket}/in/{os.path.basename(p)}" for p in files if "pageviews" in p]
    args = ["--wikipedia-dump", f"s3://{bucket}/in/enwiki-pages-articles*.xml*",
            "--pageviews", *views, "--wordnet", inputs["args"][-1]]  # fmt: skip
    dask_flags = ["--runner", "apache_beam.runners.dask.dask_runner.DaskRunner",
                  "--dask_client_address", dask_cluster.address,
                  "--temp_location", f"s3://{bucket}/tmp", *server.beam_args()]  # fmt: skip
    assert main(["build", *args, *FLAGS, "--out", str(dask), *dask_flags]) == 0
    assert dask.read_bytes() == local.read_bytes()
    assert not server.keys(bucket, "tmp/")  # the job's temporary folder is removed
