"""Image validation with Pillow (pure): real format and size, hostile bytes refused with a
reason, dominant colours, and the offline description."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from isidorus.enrichment.imaging import (
    ImageRejected,
    colour_name,
    decode_for_colours,
    dominant_colours,
    file_label,
    inspect_image,
    llm_image,
    offline_description,
)
from tests.enrichment.helpers import bomb_png, image_bytes, truncated

LIMIT = 50_000_000


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("GIF", "image/gif", "gif"),
     ("WEBP", "image/webp", "webp"), ("BMP", "image/bmp", "bmp")],
)  # fmt: skip
def test_the_real_format_and_size_are_read_from_the_bytes(fmt: str, mime: str, ext: str) -> None:
    facts = inspect_image(image_bytes(fmt, size=(64, 48)), max_pixels=LIMIT)
    assert (facts.format, facts.mime, facts.ext) == (fmt, mime, ext)
    assert (facts.width, facts.height) == (64, 48)


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(ImageRejected) as rejected:
        inspect_image(bomb_png(), max_pixels=LIMIT)
    assert rejected.value.reason == "decompression_bomb"


def test_an_image_over_the_configured_pixel_limit_is_a_bomb_too() -> None:
    with pytest.raises(ImageRejected, match="decompression_bomb"):
        inspect_image(image_bytes(size=(200, 200)), max_pixels=10_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (truncated(image_bytes("PNG", size=(300, 300))), "truncated"),
        (truncated(image_bytes("JPEG", size=(300, 300))), "truncated"),
        (b"<html>not an image</html>", "not_an_image"),
        (b"", "empty"),
    ],
)
def test_broken_bytes_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as rejected:
        inspect_image(data, max_pixels=LIMIT)
    assert rejected.value.reason == reason


def test_a_png_with_a_corrupted_chunk_is_refused() -> None:
    data = bytearray(image_bytes("PNG", size=(100, 100)))
    data[50] ^= 0xFF  # inside the compressed pixel data: its CRC no longer matches
    with pytest.raises(ImageRejected) as rejected:
        inspect_image(bytes(data), max_pixels=LIMIT)
    assert rejected.value.reason in ("corrupt", "truncated")


def test_formats_outside_the_allow_list_are_not_opened() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageRejected, match="not_an_image"):
        inspect_image(eps, max_pixels=LIMIT)


def test_dominant_colours_are_named() -> None:
    facts = inspect_image(image_bytes(colour=(20, 60, 200)), max_pixels=LIMIT)
    assert facts.colours == ("blue",)
    assert colour_name(250, 250, 250) == "white"
    assert colour_name(10, 10, 10) == "black"
    assert colour_name(30, 160, 40) == "green"


def test_colours_are_named_by_their_share_of_the_opaque_pixels() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((30, 160, 40, 255), (0, 0, 100, 60))  # green, 60 rows
    image.paste((120, 70, 20, 255), (0, 60, 100, 85))  # dark orange: brown, 25 rows
    assert dominant_colours(image) == ("green", "brown")
    assert dominant_colours(image, limit=1) == ("green",)
    assert dominant_colours(Image.new("RGBA", (30, 30), (255, 0, 0, 0))) == ("transparent",)
    assert dominant_colours(Image.new("L", (30, 30), 240)) == ("white",)


def test_a_large_jpeg_is_decoded_at_an_eighth_of_its_size_and_still_checked_to_the_end() -> None:
    data = image_bytes("JPEG", size=(1600, 1200), colour=(20, 60, 200))
    with Image.open(io.BytesIO(data)) as image:
        decode_for_colours(image)
        assert image.size == (200, 150)
    facts = inspect_image(data, max_pixels=LIMIT)
    assert (facts.width, facts.height, facts.colours) == (1600, 1200, ("blue",))
    with pytest.raises(ImageRejected, match="truncated"):
        inspect_image(truncated(data), max_pixels=LIMIT)
    # A format without a reduced decoder loads at its full size.
    with Image.open(io.BytesIO(image_bytes("PNG", size=(1600, 1200)))) as image:
        decode_for_colours(image)
        assert image.size == (1600, 1200)


def test_file_names_become_labels_but_hashes_do_not() -> None:
    assert file_label("http://x/img/red-lighthouse_at%20dawn.png?v=2") == "red lighthouse at dawn"
    assert file_label("http://x/i/3f9a8c7d6e5b4a39281706f5e4d3c2b1.jpg") == ""


def test_the_offline_description_uses_the_page_words_and_the_image() -> None:
    facts = inspect_image(image_bytes(colour=(200, 30, 30), size=(64, 48)), max_pixels=LIMIT)
    text = offline_description(
        facts,
        url="http://x/img/bell-rock.png",
        alt="The Bell Rock lighthouse at dusk",
        caption="Bell Rock, 1810",
    )
    assert text.startswith("The Bell Rock lighthouse at dusk.")
    assert "Caption: Bell Rock, 1810." in text
    assert "PNG image, 64x48 pixels (landscape), mostly red." in text


def test_without_alt_text_the_file_name_describes_the_image() -> None:
    facts = inspect_image(image_bytes(size=(40, 40)), max_pixels=LIMIT)
    text = offline_description(facts, url="http://x/img/keepers-cottage.png")
    assert text == "File name: keepers cottage. PNG image, 40x40 pixels (square), mostly red."


def test_images_go_to_an_llm_as_they_are_when_every_provider_takes_them() -> None:
    jpeg = image_bytes("JPEG")
    facts = inspect_image(jpeg, max_pixels=LIMIT)
    assert llm_image(jpeg, facts, max_edge=1568) == (jpeg, "image/jpeg")


@pytest.mark.parametrize(("fmt", "size"), [("BMP", (64, 48)), ("PNG", (3000, 1000))])
def test_other_formats_and_big_images_are_re_encoded_with_their_real_mime(
    fmt: str, size: tuple[int, int]
) -> None:
    data = image_bytes(fmt, size=size)
    sent, mime = llm_image(data, inspect_image(data, max_pixels=LIMIT), max_edge=1568)
    with Image.open(io.BytesIO(sent)) as decoded:
        assert Image.MIME[str(decoded.format)] == mime
        assert max(decoded.size) <= 1568
