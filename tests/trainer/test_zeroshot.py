"""Zero-shot as the field reports it: CLIP's 80 ImageNet templates, webdataset eval sets
(clip_benchmark's `KEY.cls`, or img2dataset's json `cls`), per-class accuracy and mean per-class
recall, checked against the model called directly."""

from __future__ import annotations

import json
import tarfile

import pytest
import torch
from PIL import Image

from trainer.cli import main
from trainer.config import load_model_config
from trainer.model import build_model
from trainer.synthetic import add_member
from trainer.transforms import EvalTransform
from trainer.zeroshot import class_embeddings, image_folder, load_templates, zeroshot

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model(shape_tokenizer):
    torch.manual_seed(7)
    cfg = load_model_config("tiny").with_vocab_size(shape_tokenizer.vocab_size)
    return build_model(cfg).eval()


def test_imagenet_templates_are_clips_80():
    templates = load_templates("imagenet")
    assert len(templates) == 80 == len(set(templates))
    assert templates[0] == "a bad photo of a {}." and templates[-1] == "a tattoo of the {}."
    assert "itap of my {}." in templates and all(t.count("{}") == 1 for t in templates)
    assert load_templates() != templates  # the default stays ours


def write_eval_shards(folder, shape_folder, extra_class=None):
    """The ImageFolder's images as one webdataset tar: `.cls` members for even samples, a json
    `cls` for odd ones, plus a sample without a class and a corrupt one (both skipped)."""
    classes, items = image_folder(shape_folder)
    folder.mkdir()
    with tarfile.open(folder / "00000.tar", "w") as tar:
        for i, (path, label) in enumerate(items):
            key = f"{i:06d}"
            add_member(tar, f"{key}.jpg", path.read_bytes())
            if i % 2:
                add_member(tar, f"{key}.json", json.dumps({"cls": label, "url": "x"}).encode())
            else:
                add_member(tar, f"{key}.cls", str(label).encode())
        add_member(tar, "nolabel.jpg", items[0][0].read_bytes())
        add_member(tar, "corrupt.jpg", b"junk")
        add_member(tar, "corrupt.cls", b"0")
    names = classes + ([extra_class] if extra_class else [])
    (folder / "classnames.txt").write_text("\n".join(names) + "\n")
    return names, items


def direct_per_class(model, tokenizer, items, names, templates):
    classifier = class_embeddings(model, tokenizer, names, templates, CPU)
    t = EvalTransform(model.config.vision.image_size)
    with torch.no_grad():
        x = torch.stack([t(Image.open(p)) for p, _ in items])
        pred = (model.encode_image(x) @ classifier.T).argmax(dim=1).tolist()
    hits = {n: [] for n in names}
    for (_, label), p in zip(items, pred, strict=True):
        hits[names[label]].append(p == label)
    top1 = sum(sum(h) for h in hits.values()) / len(items)
    return top1, {n: (sum(h) / len(h) if h else None) for n, h in hits.items()}


def test_webdataset_eval_set_equals_image_folder(tmp_path, model, shape_tokenizer, shape_folder):
    names, items = write_eval_shards(tmp_path / "wds", shape_folder, extra_class="purple blob")
    templates = load_templates("imagenet")[:5]
    from_folder = zeroshot(
        model, shape_tokenizer, shape_folder, CPU, templates=templates, batch_size=7
    )
    from_shards = zeroshot(
        model, shape_tokenizer, None, CPU, templates=templates, data=f"{tmp_path}/wds/00000.tar"
    )
    assert from_shards.n == from_folder.n == len(items)  # no-class and corrupt samples skipped
    assert from_shards.classes == len(names) == from_folder.classes + 1
    top1, want = direct_per_class(model, shape_tokenizer, items, names, templates)
    assert from_shards.top1 == pytest.approx(top1)
    assert from_shards.per_class_accuracy == pytest.approx(want)
    assert from_shards.per_class_accuracy["purple blob"] is None  # no images: out of the mean
    seen = [v for v in want.values() if v is not None]
    assert from_shards.mean_per_class_recall == pytest.approx(sum(seen) / len(seen))
    top1, want = direct_per_class(model, shape_tokenizer, items, names[:-1], templates)
    assert from_folder.top1 == pytest.approx(top1)
    assert from_folder.per_class_accuracy == pytest.approx(want)
    assert from_folder.mean_per_class_recall == pytest.approx(sum(want.values()) / len(want))


def test_zeroshot_cli_on_shards_with_imagenet_templates(tmp_path, model, shape_tokenizer,
                                                        shape_folder, capsys):  # fmt: skip
    write_eval_shards(tmp_path / "wds", shape_folder)
    ckpt = tmp_path / "m.pt"
    state = {"model": model.state_dict(), "model_config": model.config.to_dict()}
    torch.save({**state, "tokenizer": shape_tokenizer.to_json()}, ckpt)
    capsys.readouterr()
    argv = ["zeroshot", "--checkpoint", str(ckpt), "--data", f"{tmp_path}/wds/00000.tar",
            "--templates", "imagenet"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"top1", "top5", "n", "classes", "per_class_accuracy", "mean_per_class_recall"} == set(
        result
    )
    assert result["n"] == 36 and len(result["per_class_accuracy"]) == 12
    (tmp_path / "wds" / "classnames.txt").unlink()
    assert main(argv) == 2  # no class names anywhere: a clear error, not a crash
    assert "classnames.txt" in capsys.readouterr().err
