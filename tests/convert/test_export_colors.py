"""CSS3 colour names and hex forms, as RFC 7986 COLOR and Apple's colour properties use them."""

from __future__ import annotations

import pytest

from ical_bridge.convert.colors import CSS3_COLORS, css_color_to_hex, nearest_css_name

# Values copied from the CSS Color Module Level 3 keyword table.
SPEC_SAMPLES = {
    "aliceblue": "#f0f8ff",
    "cornflowerblue": "#6495ed",
    "darkslategrey": "#2f4f4f",
    "lightgoldenrodyellow": "#fafad2",
    "mediumspringgreen": "#00fa9a",
    "rebeccapurple": None,  # CSS4, not CSS3
    "yellowgreen": "#9acd32",
}


def test_all_147_css3_names_are_known() -> None:
    assert len(CSS3_COLORS) == 147
    assert all(len(v) == 7 and v.startswith("#") for v in CSS3_COLORS.values())


@pytest.mark.parametrize(("name", "expected"), sorted(SPEC_SAMPLES.items()))
def test_names_match_the_spec(name: str, expected: str | None) -> None:
    assert css_color_to_hex(name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#ABC", "#aabbcc"),
        ("#1BADA5", "#1bada5"),
        ("#1BADA5FF", "#1bada5"),  # X-APPLE-CALENDAR-COLOR carries alpha
        ("#1bada580", "#1bada5"),
        (" Red ", "#ff0000"),
        ("1bada5", "#1bada5"),
        ("", None),
        ("not-a-colour", None),
        ("#12345", None),
        ("abc", None),
    ],
)
def test_hex_forms(value: str, expected: str | None) -> None:
    assert css_color_to_hex(value) == expected


def test_every_name_is_its_own_nearest_or_a_synonym() -> None:
    for name, hex_value in CSS3_COLORS.items():
        assert CSS3_COLORS[nearest_css_name(hex_value)] == hex_value, name


def test_nearest_name_of_an_off_palette_colour() -> None:
    assert nearest_css_name("#fe0101") == "red"
    assert nearest_css_name("#010101") == "black"
    assert nearest_css_name("#1e90fe") == "dodgerblue"
