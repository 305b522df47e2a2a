"""Segment counting as carriers pack texts: two-unit characters never straddle a boundary."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.sms import GSM7_BASIC, GSM7_EXTENDED, count_segments

GSM_CHARS = sorted(GSM7_BASIC | GSM7_EXTENDED)
EMOJI = "\U0001f600"  # outside the BMP: a UTF-16 surrogate pair


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        # 152 + 2 does not fit in 153: the escape pair opens the second segment, which then
        # holds 2 + 151, and the last "a" needs a third.
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
        ("a" * 151 + "€" + "a" * 153, "GSM-7", 306, 2),  # the pair fits exactly: 2 segments
        ("€" * 80, "GSM-7", 160, 1),
        ("中" * 70, "UCS-2", 70, 1),
        ("中" * 71, "UCS-2", 71, 2),
        # 66 + a surrogate pair does not fit in 67.
        ("中" * 66 + EMOJI + "中" * 66, "UCS-2", 134, 3),
        ("中" * 65 + EMOJI + "中" * 67, "UCS-2", 134, 2),
        ("Zoë" + "a" * 67, "UCS-2", 70, 1),  # ë is not GSM-7: the whole text is UCS-2
        ("", "GSM-7", 0, 1),
    ],
)
def test_segments_are_packed_without_splitting_a_character(
    text: str, encoding: str, units: int, count: int
) -> None:
    parts = count_segments(text)
    assert (parts.encoding, parts.units, parts.count) == (encoding, units, count)


gsm_texts = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700)
ucs2_texts = st.text(
    alphabet=st.sampled_from(["中", "a", "€", EMOJI, "ë", "文"]), min_size=1, max_size=300
).filter(lambda t: any(ch not in GSM7_BASIC and ch not in GSM7_EXTENDED for ch in t))


@given(gsm_texts)
def test_gsm_texts_take_at_least_units_over_153_segments(text: str) -> None:
    parts = count_segments(text)
    assert parts.encoding == "GSM-7"
    if parts.units <= 160:
        assert parts.count == 1
    else:
        # At least the ideal packing; at most one septet wasted per segment.
        assert math.ceil(parts.units / 153) <= parts.count <= math.ceil(parts.units / 152)


@given(ucs2_texts)
def test_ucs2_texts_take_at_least_units_over_67_segments(text: str) -> None:
    parts = count_segments(text)
    assert parts.encoding == "UCS-2"
    assert parts.units == len(text.encode("utf-16-le")) // 2
    if parts.units <= 70:
        assert parts.count == 1
    else:
        assert math.ceil(parts.units / 67) <= parts.count <= math.ceil(parts.units / 66)


@given(gsm_texts, st.sampled_from(GSM_CHARS))
def test_a_longer_text_never_takes_fewer_segments(text: str, extra: str) -> None:
    assert count_segments(text + extra).count >= count_segments(text).count
