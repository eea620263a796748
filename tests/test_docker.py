"""No Docker daemon runs here: check what can be checked without one."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(extra: str) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for req in project["optional-dependencies"][extra] + project["dependencies"]:
        m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^;\s]+)", req)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def _stages() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text()
    return {m.group(2): m.group(1) for m in re.finditer(r"^FROM (\S+) AS (\w+)$", text, re.M)}


def test_pipeline_image_matches_beam_pin_and_python():
    base = _stages()["pipeline"]
    assert base == f"apache/beam_python3.11_sdk:{_pins('pipeline')['apache-beam']}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"


def test_trainer_image_checks_the_torch_pin():
    text = (ROOT / "Dockerfile").read_text()
    assert _stages()["trainer"].startswith("python:3.11")
    torch_pin = _pins("trainer")["torch"]
    assert f"torch.__version__.startswith('{torch_pin}')" in text
    assert "apache_beam.__version__ == '" + _pins("pipeline")["apache-beam"] + "'" in text


def test_images_copy_only_what_their_extra_needs():
    text = (ROOT / "Dockerfile").read_text()
    pipeline_part, trainer_part = text.split("AS trainer")
    assert "COPY trainer" not in pipeline_part and "'.[pipeline]'" in pipeline_part
    assert "COPY pipeline" not in trainer_part and "'.[trainer]'" in trainer_part
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in pipeline_part
