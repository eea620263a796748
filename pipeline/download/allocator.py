"""Memory settings of a download worker process: `tune()` (glibc malloc, for image buffers)
and `freeze_startup_heap()` (Python's collector), each once per process.

Each image decode, resize and encode allocates and frees buffers of 0.1-5 MB. With glibc's
defaults those sizes are mapped and unmapped (or the heap's top trimmed) on every image, so
each new buffer is faulted in page by page: measured, 15-20% of a worker's CPU per image
(WebP decode 2.9 -> 1.3 ms, PNG 3.0 -> 2.2 ms). Keeping such buffers on the heap, and the
freed top of it for the next image, removes that. Bounded: allocations over `MMAP_MAX` are
still mapped, at most `ARENAS` arenas each keep at most `TRIM` bytes free at their top.
Elsewhere than glibc (musl, macOS) `tune` does nothing.

On by default; `OPENWIT_TUNE_MALLOC=0` in the workers' environment turns it off (the local
runner's workers inherit the launcher's). The cost is memory: a worker keeps its largest image
buffers, so its peak is reached early and held. Measured with `bench/memory.py download --sizes
2000,8000` (two runs each, bench/RESULTS.md `download-15`): peak PSS of the process tree
482-484 -> 564-580 MiB on, 459-466 -> 529-576 MiB off; worker CPU per image 8% lower on.
(When image threads were 2-4 per process, on cost more: 17.6-22 KiB per extra image.)

`freeze_startup_heap`: a Beam worker starts with ~1M objects (Beam, pyarrow, numpy, Pillow)
that live as long as the process. Frozen (`gc.freeze`), the collector stops walking them: in
every full collection during the job, and in the last one at exit, which the job waits for
(the runner joins its worker processes): ~0.4 s of wall time per job.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's <malloc.h>
MMAP_MAX = 32 << 20  # glibc's ceiling for the mmap threshold on 64-bit
TRIM = 64 << 20
ARENAS = 2  # else up to 8 per core, one per fetching thread, each keeping its own free memory

_tuned = False
_frozen = False


ENV = "OPENWIT_TUNE_MALLOC"


def wanted() -> bool:
    """Whether this process should `tune`: unless `OPENWIT_TUNE_MALLOC=0` (see above)."""
    return os.environ.get(ENV, "").strip() != "0"


def tune() -> bool:
    """Apply the settings above (once); True when glibc accepted them."""
    global _tuned
    if _tuned:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_MAX), (M_TRIM_THRESHOLD, TRIM), (M_ARENA_MAX, ARENAS))
    _tuned = all(mallopt(param, value) == 1 for param, value in settings)
    return _tuned


def freeze_startup_heap() -> None:
    """Move every object alive now out of the collector's reach (once per process)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
