"""Image path: orientation, modes, animation, bombs, limits, resize modes, encodings."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pipeline.download.imaging import ImageError, phash, process, sniff
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R
from synth import draw
from synth.draw import bomb_png, pixel_png


def cfg(**kw) -> DownloadConfig:
    return DownloadConfig(output="unused", **kw)


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_exif_orientation_is_applied():
    data, _ = draw.render("/img/e.jpg", "mode=exif&w=400&h=200")
    assert decode(data).size == (200, 400)  # stored rotated
    p = process(data, cfg(resize_mode="no"))
    assert (p.original_width, p.original_height) == (400, 200)
    assert (p.width, p.height) == (400, 200)
    plain = process(draw.render("/img/e.jpg", "mode=plain&w=400&h=200")[0], cfg(resize_mode="no"))
    assert (int(p.phash, 16) ^ int(plain.phash, 16)).bit_count() <= 6  # same upright picture


@pytest.mark.parametrize("path,query", [
    ("/img/c.jpg", "mode=cmyk&bg=white&color=red"),
    ("/img/p.png", "mode=palette&bg=white&color=red"),
    ("/img/a.png", "mode=rgba&bg=white&color=red"),
    ("/img/g.gif", "mode=animated&bg=white&color=red"),
    ("/img/w.webp", "bg=white&color=red"),
])  # fmt: skip
def test_modes_convert_to_rgb_with_colors_kept(path, query):
    data, _ = draw.render(path, query + "&shape=square&count=1&w=300&h=300")
    p = process(data, cfg(image_size=64, resize_mode="border"))
    img = decode(p.data)
    assert img.mode == "RGB" and img.size == (64, 64)
    r, g, b = img.getpixel((32, 32))  # the red square's centre
    assert r > 150 and g < 100 and b < 100


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparency_is_white_and_flattening_after_the_resize_changes_nothing(mode):
    """Alpha is composited after the resize (cheaper): the pixels are those of compositing the
    full-size picture first, up to rounding, and see-through areas come out white."""
    from pipeline.download.imaging import resize, to_rgb

    rgba = Image.new("RGBA", (900, 700), (10, 200, 30, 0))  # a colour under alpha 0: unseen
    ImageDraw.Draw(rgba).ellipse((100, 80, 600, 500), fill=(120, 50, 220, 255))
    ImageDraw.Draw(rgba).rectangle((500, 400, 880, 690), fill=(250, 20, 20, 128))
    img = rgba if mode == "RGBA" else rgba.convert(mode)  # P: one transparent palette index
    buf = io.BytesIO()
    img.save(buf, "PNG", **({"transparency": img.getpixel((0, 0))} if mode == "P" else {}))
    p = process(buf.getvalue(), cfg(image_size=256, resize_mode="keep_ratio_largest",
                                    encode_format="png"))  # fmt: skip
    ours = np.asarray(decode(p.data), np.int16)
    ref = np.asarray(resize(to_rgb(decode(buf.getvalue())), 256, "keep_ratio_largest")[0])
    assert ours.shape == ref.shape == (199, 256, 3)
    assert np.abs(ours - ref).max() <= 2
    assert tuple(ours[5, 5]) == (255, 255, 255)  # the unseen green stays unseen


def test_animated_gif_takes_first_frame():
    data, _ = draw.render("/img/g.gif", "mode=animated&w=300&h=200&count=1")
    assert decode(data).n_frames == 2
    first = decode(data).convert("RGB")
    p = process(data, cfg(resize_mode="no", encode_format="png"))
    assert decode(p.data).tobytes() == first.tobytes()


def test_rejections_carry_reasons():
    with pytest.raises(ImageError) as e:
        process(bomb_png(), cfg())
    assert e.value.reason == R.DECOMPRESSION_BOMB
    with pytest.raises(ImageError) as e:
        process(pixel_png(), cfg(min_image_size=10))
    assert e.value.reason == R.TOO_SMALL
    assert process(pixel_png(), cfg()).original_width == 1  # 0 means no limit
    wide, _ = draw.render("/img/w.png", "w=900&h=100")
    with pytest.raises(ImageError) as e:
        process(wide, cfg(max_aspect_ratio=3))
    assert e.value.reason == R.ASPECT_RATIO
    jpg, _ = draw.render("/img/t.jpg", "")
    for bad, reason in ((jpg[: len(jpg) // 2], R.DECODE_ERROR), (b"<html>", R.NOT_IMAGE)):
        with pytest.raises(ImageError) as e:
            process(bad, cfg())
        assert e.value.reason == reason


@pytest.mark.parametrize(
    "mode,size",
    [
        ("border", (128, 128)),
        ("keep_ratio", (128, 256)),
        ("keep_ratio_largest", (64, 128)),
        ("center_crop", (128, 128)),
        ("no", (300, 600)),
    ],
)
def test_resize_modes(mode, size):
    data, _ = draw.render("/img/r.png", "w=300&h=600")
    p = process(data, cfg(image_size=128, resize_mode=mode))
    assert decode(p.data).size == size == (p.width, p.height)


@pytest.mark.parametrize("fmt,magic", [("jpg", "jpeg"), ("png", "png"), ("webp", "webp")])
def test_encode_formats(fmt, magic):
    p = process(draw.render("/img/f.jpg", "")[0], cfg(image_size=32, encode_format=fmt))
    assert sniff(p.data) == magic


def test_phash_matches_imagehash():
    imagehash = pytest.importorskip("imagehash")
    img = decode(draw.render("/img/h.png", "")[0]).convert("RGB")
    ours = int(phash(img), 16)
    theirs = int(str(imagehash.phash(img)), 16)
    assert (ours ^ theirs).bit_count() <= 2


@pytest.mark.parametrize(
    "mode,decoded",
    [("border", (256, 192)), ("keep_ratio_largest", (256, 192)), ("keep_ratio", (512, 384)),
     ("center_crop", (512, 384)), ("no", (1024, 768))],
)  # fmt: skip
def test_jpeg_decodes_at_the_smallest_scale_the_mode_needs(mode, decoded):
    from pipeline.download.imaging import open_checked

    data, _ = draw.render("/img/d.jpg", "mode=plain&w=1024&h=768")
    img, original = open_checked(data, cfg(image_size=256, resize_mode=mode))
    assert img.size == decoded and original == (1024, 768)
    p = process(data, cfg(image_size=256, resize_mode=mode))
    assert (p.original_width, p.original_height) == (1024, 768)


def test_allocator_tuning_applies_on_glibc():
    import platform

    from pipeline.download import allocator

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's")
    assert allocator.tune() and allocator.tune()  # idempotent


def test_allocator_tuning_is_on_unless_turned_off(monkeypatch):
    from pipeline.download import allocator

    monkeypatch.delenv(allocator.ENV, raising=False)
    assert allocator.wanted()
    monkeypatch.setenv(allocator.ENV, "0")
    assert not allocator.wanted()
    monkeypatch.setenv(allocator.ENV, "1")
    assert allocator.wanted()
