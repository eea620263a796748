import random

import pytest
import torch
from PIL import Image

from trainer.transforms import CLIP_MEAN, EvalTransform, TrainTransform, random_crop_box


def test_eval_resizes_short_side_and_center_crops():
    img = Image.new("RGB", (80, 40), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 12, 40))  # black strip on the far left is cropped away
    x = EvalTransform(32)(img)
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    white = (1 - torch.tensor(CLIP_MEAN)) / torch.tensor([0.26862954, 0.26130258, 0.27577711])
    torch.testing.assert_close(x[:, :, 0], white[:, None].expand(3, 32), atol=0.05, rtol=0)


def test_train_crop_is_random_and_sized():
    img = Image.new("L", (64, 48), 128)  # grey-scale input comes out RGB
    t = TrainTransform(24, seed=1)
    assert t(img).shape == (3, 24, 24)
    rng = random.Random(0)
    boxes = {random_crop_box(64, 48, (0.5, 1.0), (3 / 4, 4 / 3), rng) for _ in range(20)}
    assert len(boxes) > 5
    for left, top, right, bottom in boxes:
        assert 0 <= left < right <= 64 and 0 <= top < bottom <= 48
        assert (right - left) * (bottom - top) >= 0.5 * 64 * 48 * 0.9


@pytest.mark.parametrize("size", [(1000, 10), (10, 1000)])
def test_extreme_aspect_falls_back_to_a_center_box(size):
    left, top, right, bottom = random_crop_box(*size, (0.9, 1.0), (3 / 4, 4 / 3), random.Random(0))
    assert 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]
