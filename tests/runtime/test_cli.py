"""The shared command-line layer, through the three real CLIs: a typo'd flag exits 2 naming
it on every command, Beam options (also those of Beam's optional modules) are accepted where
a command may need them, `--log-level` is everywhere, and flags declared on config dataclasses
come back as the same config."""

from __future__ import annotations

import logging

import pytest

from pipeline.curate import options as curate_options
from pipeline.main import main as pipeline_main
from pipeline.run_all import split_argv
from queries.cli import main as queries_main
from runtime import cli
from trainer.cli import main as trainer_main

PIPE = {
    "curate": ["--input", "a.warc.gz", "--queries", "q.txt", "--output", "o"],
    "download": ["--manifest", "m", "--output", "o"],
    "run": ["--input", "a.jsonl", "--queries", "q.txt", "--output", "o"],
    "report": ["{tmp}"],
    "verify": ["{tmp}"],
    "subset": ["--shards", "s", "--keep", "k.txt", "--output", "o"],
}
QUERIES = {"build": ["--embedded", "--out", "o.parquet"], "stats": ["q.parquet"]}
TRAINER = {
    "train": ["--train-data", "s.tar", "--model", "tiny", "--output", "o"],
    "zeroshot": ["--checkpoint", "c.pt", "--images", "d"],
    "retrieval": ["--checkpoint", "c.pt", "--data", "s.tar"],
    "tokenizer": ["--data", "s.tar", "--vocab-size", "300", "--out", "t.json"],
    "export": ["--checkpoint", "c.pt", "--format", "hf", "--out", "o"],
    "embed": ["--checkpoint", "c.pt", "--texts", "t.txt", "--out", "e.npy"],
    "score": ["--checkpoint", "c.pt", "--data", "s.tar", "--out", "s.parquet"],
}
COMMANDS = [
    *((pipeline_main, name, args) for name, args in PIPE.items()),
    *((queries_main, name, args) for name, args in QUERIES.items()),
    *((trainer_main, name, args) for name, args in TRAINER.items()),
]
IDS = [f"{m.__module__.split('.')[0]}-{name}" for m, name, _ in COMMANDS]
BEAM_EXTRAS = [
    "--runner", "DaskRunner", "--dask_client_address", "tcp://127.0.0.1:8786",
    "--s3_endpoint_url", "http://127.0.0.1:9000", "--s3_access_key_id", "k",
    "--s3_secret_access_key=s", "--s3_region_name", "us-east-1",
    "--project", "p", "--temp_location", "gs://b/tmp", "--direct_num_workers=2",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _restore_log_level():
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def _argv(args, tmp_path):
    return [a.replace("{tmp}", str(tmp_path)) for a in args]


def _exit_code(main, argv) -> int:
    """The status a command ends with, returned or raised (argparse raises SystemExit)."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("main,name,args", COMMANDS, ids=IDS)
def test_a_typo_exits_2_naming_the_flag(main, name, args, tmp_path, capsys):
    assert _exit_code(main, [name, *_argv(args, tmp_path), "--max-per-qeury", "5"]) == 2
    err = capsys.readouterr().err
    assert "unknown flag --max-per-qeury" in err


@pytest.mark.parametrize("main,name,args", COMMANDS, ids=IDS)
def test_log_level_on_every_command(main, name, args, tmp_path, capsys):
    # the typo stops it once the level is set
    assert _exit_code(main, [name, *_argv(args, tmp_path), "--log-level", "info", "--typo"]) == 2
    assert "unknown flag --typo" in capsys.readouterr().err
    assert logging.getLogger().level == logging.INFO
    assert _exit_code(main, [name, *_argv(args, tmp_path), "--log-level", "loud"]) == 2
    assert "--log-level" in capsys.readouterr().err


@pytest.mark.parametrize("name,args", [(n, a) for n, a in TRAINER.items()])
def test_trainer_takes_no_beam_flags(name, args, capsys):
    with pytest.raises(SystemExit) as exc:
        trainer_main([name, *args, "--runner", "DirectRunner"])
    assert exc.value.code == 2 and "unknown flag --runner" in capsys.readouterr().err


def test_beam_options_reach_curate_download_and_run():
    opts, beam = curate_options.parse([*PIPE["curate"], *BEAM_EXTRAS, "--max-per-query", "5"])
    assert beam == BEAM_EXTRAS and opts.max_per_query == 5
    p = cli.parser("d", flags=[cli.Flag("--x", type=int, default=1)], beam=True)
    ns, beam = cli.parse(p, ["--x", "3", *BEAM_EXTRAS], beam=True)
    assert ns.x == 3 and beam == BEAM_EXTRAS
    dl, curate_argv, beam = split_argv([*PIPE["run"], "--shard-size", "7", *BEAM_EXTRAS])
    assert dl.shard_size == 7 and beam == BEAM_EXTRAS and "--shard-size" not in curate_argv


@pytest.mark.parametrize("name", ["download", "verify", "report"])
def test_beam_options_accepted_by_download_verify_report(name, tmp_path, capsys):
    argv = [name, *_argv(PIPE[name], tmp_path), *BEAM_EXTRAS]
    if name == "download":
        argv[2] = str(tmp_path / "missing")  # fails on the input, after the flags passed
    rc = pipeline_main(argv)
    err = capsys.readouterr().err
    assert "unknown" not in err
    assert rc == {"download": 2, "verify": 2, "report": 0}[name]
    if name != "report":
        assert str(tmp_path) in err  # its own error, about the folder


def test_queries_build_accepts_beam_options(tmp_path, capsys):
    argv = ["build", "--wordnet", str(tmp_path), "--out", str(tmp_path / "q"), *BEAM_EXTRAS]
    assert queries_main(argv) == 2  # past the flags, stopped by its own input check
    err = capsys.readouterr().err
    assert "WordNet data file missing" in err and "unknown" not in err


def test_declared_flags_round_trip():
    opts, _ = curate_options.parse(
        [*PIPE["curate"], "--languages", "de,fr", "--fail-on-bad-file", "--output", "o/"]
    )
    assert opts.languages == ("de", "fr") and opts.fail_on_bad_file and opts.output == "o"
    defaults, _ = curate_options.parse(PIPE["curate"])
    assert defaults.languages == ("en",) and defaults.max_per_query == 20000


def test_unknown_subcommand_and_help(capsys):
    assert queries_main(["nope"]) == 2 and "unknown subcommand" in capsys.readouterr().err
    assert trainer_main(["--help"]) == 0
    assert "tokenizer" in capsys.readouterr().out


def test_dask_runner_short_name_and_no_local_defaults():
    from runtime.beam import RUNNER_PATHS, is_local, local_defaults

    for argv in (["--runner", "DaskRunner"], ["--runner=DaskRunner"]):
        args = local_defaults([*argv, "--dask_client_address", "tcp://127.0.0.1:1"])
        assert RUNNER_PATHS["DaskRunner"] in " ".join(args)
        assert not any(a.startswith("--direct_") for a in args) and not is_local(args)
