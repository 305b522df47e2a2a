"""Stored text made safe for the terminal."""

from __future__ import annotations

import pytest

from duecall.terminal import plain, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("line one\nline two\tcolumn", "line one\nline two\tcolumn"),
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", "]8;;https://evil.examplelink]8;;"),
        ("over\rwrite\x08\x7f", "overwrite"),
        ("csi\x9b2J\x85next", "csi2Jnext"),
        ("退订 [card ****4242] [/]", "退订 [card ****4242] [/]"),
    ],
)
def test_control_characters_but_newline_and_tab_are_dropped(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert plain(text).plain == shown
