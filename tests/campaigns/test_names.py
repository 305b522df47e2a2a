"""The one naming rule calls and texts share: no titles, given name first, Chinese untouched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.names import addressed_name, plain_name


@pytest.mark.parametrize(
    ("on_file", "plain"),
    [
        ("Dr. John Smith", "John Smith"),
        ("Mrs Jane Doe", "Jane Doe"),
        ("SMITH, JOHN", "John Smith"),
        ("Smith, Dr. John", "John Smith"),
        ("SMITH, JOHN JR", "John Smith Jr"),
        ("Prof. Dr. Anna Berg PhD", "Anna Berg"),
        ("MARY-JANE O'NEIL III", "Mary-Jane O'Neil III"),
        ("Ronald McDonald", "Ronald McDonald"),  # mixed case is the person's own: kept
        ("  Jane   Doe ", "Jane Doe"),
        ("王小明", "王小明"),
        ("欧阳 娜娜", "欧阳 娜娜"),
        ("Miss", "Miss"),  # nothing but a title: nothing to drop it for
    ],
)
def test_a_name_is_written_as_its_owner_would(on_file: str, plain: str) -> None:
    assert plain_name(on_file) == plain


@pytest.mark.parametrize(
    ("on_file", "language", "addressed"),
    [
        ("Dr. John Smith", "en-US", "John"),
        ("Mrs Jane Doe", "en-US", "Jane"),
        ("SMITH, JOHN", "en-US", "John"),
        ("Zoë Martin", "en-US", "Zoë"),
        ("王小明", "en-US", "王小明"),  # a Chinese name is never cut, whatever the language
        ("王小明", "zh-CN", "王小明"),
        ("Dr. Wang Xiaoming", "zh-CN", "Wang Xiaoming"),
        ("", "en-US", ""),
    ],
)
def test_the_addressed_name_is_the_given_name_in_english_and_the_whole_name_in_chinese(
    on_file: str, language: str, addressed: str
) -> None:
    assert addressed_name(on_file, language) == addressed


_WORDS = st.lists(
    st.text(alphabet=st.sampled_from("abcdefghijKLMNOP.'-"), min_size=1, max_size=8),
    min_size=1,
    max_size=4,
).map(" ".join)


@given(_WORDS)
def test_the_rule_applied_twice_changes_nothing_more(name: str) -> None:
    once = plain_name(name)
    assert plain_name(once) == once
    assert addressed_name(once, "en-US") == addressed_name(name, "en-US")


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=2))
def test_a_chinese_name_is_kept_exactly(name: str) -> None:
    assert plain_name(name) == name
    assert addressed_name(name, "en-US") == addressed_name(name, "zh-CN") == name
