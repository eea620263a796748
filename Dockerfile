# Pipeline worker image: Beam's Python 3.11 SDK image of the pinned Beam version,
# usable as a Dataflow custom container (--sdk_container_image).
FROM apache/beam_python3.11_sdk:2.77.0
ENV NO_ALBUMENTATIONS_UPDATE=1
WORKDIR /opt/openwit
COPY pyproject.toml README.md LICENSE ./
COPY schemas schemas
COPY queries queries
COPY pipeline pipeline
RUN pip install --no-cache-dir '.[pipeline]'
ENTRYPOINT ["/opt/apache/beam/boot"]
