"""Image preprocessing with Pillow and torch only (torchvision does not import beside the CPU
torch build used here).

In: a PIL image of any mode and size. Out: float32 tensor [3, size, size], normalised with
CLIP's constants. Training: random-resized-crop (area fraction in `scale`, aspect ratio in
`ratio`, log-uniform) then a bicubic resize. Eval: resize the shorter side to `size` (the longer
side truncated to an integer), then a center crop.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_MEAN = torch.tensor(CLIP_MEAN).view(3, 1, 1)
_STD = torch.tensor(CLIP_STD).view(3, 1, 1)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """RGB uint8 HWC -> normalised float CHW."""
    arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    x = torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div_(255.0)
    return (x - _MEAN) / _STD


def random_crop_box(
    width: int,
    height: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    rng: random.Random,
) -> tuple[int, int, int, int]:
    """A (left, top, right, bottom) box with area fraction in `scale` and aspect in `ratio`;
    ten tries, then the largest centered box of the nearest allowed aspect."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            left = rng.randint(0, width - w)
            top = rng.randint(0, height - h)
            return left, top, left + w, top + h
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif aspect > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


class TrainTransform:
    def __init__(
        self,
        size: int,
        scale: tuple[float, float] = (0.9, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        seed: int | None = None,
    ):
        self.size, self.scale, self.ratio = size, scale, ratio
        self.rng = random.Random(seed)

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = img.convert("RGB")
        box = random_crop_box(img.width, img.height, self.scale, self.ratio, self.rng)
        img = img.resize((self.size, self.size), Image.Resampling.BICUBIC, box=box)
        return to_tensor(img)


def eval_resize_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(w, h) with the shorter side `size` and the longer one `int(size * long / short)`,
    truncated, not rounded: the same integers as transformers' CLIP image processor (and
    torchvision's Resize), so an exported model sees the same pixels through either."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


class EvalTransform:
    def __init__(self, size: int):
        self.size = size

    def __call__(self, img: Image.Image) -> torch.Tensor:
        img = img.convert("RGB")
        w, h = eval_resize_size(img.width, img.height, self.size)
        img = img.resize((w, h), Image.Resampling.BICUBIC)
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return to_tensor(img.crop((left, top, left + self.size, top + self.size)))


def image_transform(size: int, train: bool, seed: int | None = None):
    return TrainTransform(size, seed=seed) if train else EvalTransform(size)
