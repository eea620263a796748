import gc

from pipeline.main import main

if __name__ == "__main__":
    code = main()
    # Done, every file closed: spare the interpreter its last full garbage collection over the
    # large heap Beam, pyarrow and matplotlib leave (~0.4 s of a short job's wall time).
    gc.freeze()
    raise SystemExit(code)
