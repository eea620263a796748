from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from pipeline.main import main
from runtime import beam as beam_options


def test_unknown_subcommand_exits_2(capsys):
    assert main(["nope"]) == 2
    assert "unknown subcommand" in capsys.readouterr().err


def test_help_lists_subcommands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("curate", "download", "run", "report", "verify"):
        assert name in out


def test_local_defaults_are_fnapi_multiprocessing():
    opts = beam_options.pipeline_options([])
    assert opts.view_as(StandardOptions).runner == "FnApiRunner"
    direct = opts.view_as(DirectOptions)
    assert direct.direct_running_mode == "multi_processing"
    assert direct.direct_num_workers >= 1


def test_user_flags_win():
    args = beam_options.local_defaults(["--runner=DataflowRunner", "--project", "p"])
    assert "--direct_running_mode=multi_processing" not in args
    args = beam_options.local_defaults(["--direct_num_workers=3"])
    assert args.count("--direct_num_workers=3") == 1
    assert "--direct_running_mode=multi_processing" in args


def test_python_m_pipeline_gives_its_processes_one_blas_thread_unless_set():
    """`python -m pipeline` sets OPENBLAS_NUM_THREADS=1 before numpy loads (the SDK workers it
    starts inherit it); a value the user set is kept."""
    import os
    import subprocess
    import sys

    probe = "import pipeline.__main__, os; print(os.environ['OPENBLAS_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "1", out.stderr
    env["OPENBLAS_NUM_THREADS"] = "3"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "3", out.stderr
