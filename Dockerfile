# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target pipeline -t openwit-pipeline .   (Beam worker / Dataflow custom container)
#   docker build --target trainer  -t openwit-trainer  .   (CUDA trainer, torchrun inside)

# --- pipeline: Beam's Python 3.11 SDK image of the pinned Beam version --------------
# Usable as a Dataflow custom container (--sdk_container_image) and, with a Flex
# Template launcher added by the Flex Template tooling, as a template image.
FROM apache/beam_python3.11_sdk:2.77.0 AS pipeline
# one BLAS thread per worker process (as `python -m pipeline` sets for its local workers)
ENV NO_ALBUMENTATIONS_UPDATE=1 \
    OPENBLAS_NUM_THREADS=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /opt/openwit
COPY pyproject.toml README.md LICENSE ./
COPY schemas schemas
COPY runtime runtime
COPY queries queries
COPY pipeline pipeline
# The SDK image already holds apache-beam==2.77.0; the pin in [pipeline] keeps it.
RUN pip install '.[pipeline]' \
 && python -c "import apache_beam, pipeline, queries, schemas; assert apache_beam.__version__ == '2.77.0'"
ENTRYPOINT ["/opt/apache/beam/boot"]

# --- trainer: CUDA PyTorch ------------------------------------------------------------
# PyPI's Linux torch==2.13.0 wheel carries its CUDA runtime (nvidia-* wheels), so a
# slim Python 3.11 base plus the pinned wheel is a CUDA PyTorch image; it needs only
# the host's NVIDIA driver (docker run --gpus all).
FROM python:3.11-slim AS trainer
ENV PIP_NO_CACHE_DIR=1
WORKDIR /opt/openwit
COPY pyproject.toml README.md LICENSE ./
COPY schemas schemas
COPY runtime runtime
COPY trainer trainer
RUN pip install '.[trainer]' \
 && python -c "import torch, trainer; assert torch.__version__.startswith('2.13.0')"
ENTRYPOINT ["trainer"]
