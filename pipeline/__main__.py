import os

# One BLAS thread per process, set before numpy loads (Beam's SDK workers inherit it): the
# pipeline's parallelism is its worker processes, and OpenBLAS's idle threads spin after a call
# (~4% of a curate's CPU, `perf`: blas_thread_server). A value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import gc  # noqa: E402

from pipeline.main import main  # noqa: E402

if __name__ == "__main__":
    from runtime.prefork import keep_zygote  # noqa: E402
    from runtime.without_pandas import arrow_without_pandas  # noqa: E402

    arrow_without_pandas()  # pyarrow never loads pandas here (runtime/without_pandas.py)
    keep_zygote()  # `pipeline run` forks the workers of its second job too (runtime/prefork.py)
    code = main()
    # Done, every file closed: spare the interpreter its last full garbage collection over the
    # large heap Beam, pyarrow and matplotlib leave (~0.4 s of a short job's wall time).
    gc.freeze()
    raise SystemExit(code)
