"""The ``convert`` table as rich writes it to a pipe or file, without importing rich (issue 12).

Piped, rich prints no colours, so the two layouts of ``convert._timer_table`` are plain strings:
wide (``box.HEAVY_HEAD``, edge, padded edge cells) and compact (``box.SIMPLE_HEAD``, no edge,
no outer padding). Every function answers ``None`` for text it cannot draw exactly as rich
does (a character missing from the width table, markup or an emoji code, a label that would
wrap); the caller then lets rich print. ``tests/cli/test_plain_table.py`` holds the two to
the same bytes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import pairwise

__all__ = ["cell_width", "plain_lines", "plain_table", "table_width"]

# Cells per character as rich counts them (rich.cells.cell_len), for the scripts calendar
# labels are mostly written in; the same in every Unicode version rich has a table for.
# Anything else (emoji, joiners, controls, tabs) is unknown here: rich draws it.
_WIDTHS = (
    (0x0020, 0x007E, 1),  # ASCII
    (0x00A0, 0x00AC, 1),  # Latin-1 (not the soft hyphen)
    (0x00AE, 0x02FF, 1),  # Latin-1, Latin Extended, IPA, modifiers
    (0x0300, 0x036F, 0),  # combining diacritics (decomposed accents)
    (0x0370, 0x0482, 1),  # Greek, Cyrillic
    (0x048A, 0x052F, 1),  # Cyrillic
    (0x1E00, 0x1FFF, 1),  # Latin Extended Additional (Vietnamese), Greek Extended
    (0x2010, 0x2027, 1),  # dashes, quotes, bullet, ellipsis
    (0x2030, 0x205E, 1),  # per mille, primes, other punctuation
    (0x20A0, 0x20C0, 1),  # currency signs
    (0x2100, 0x214F, 1),  # letterlike symbols
    (0x2190, 0x21FF, 1),  # arrows
    (0x2500, 0x25FC, 1),  # box drawing, blocks, shapes
    (0x3001, 0x3029, 2),  # CJK punctuation
    (0x3030, 0x303E, 2),
    (0x3041, 0x3096, 2),  # Hiragana
    (0x309B, 0x30FF, 2),  # Katakana
    (0x4E00, 0x9FBB, 2),  # CJK ideographs
    (0xAC00, 0xD7A3, 2),  # Hangul syllables
    (0xFF01, 0xFF60, 2),  # fullwidth forms
    (0xFFE0, 0xFFE6, 2),
)
_STARTS = [start for start, _, _ in _WIDTHS]

# rich reads "[" in a str cell or the title as markup, and ":name:" in any printed str as an
# emoji code (its own pattern, from rich._emoji_replace); both may change the text, so such
# text is left to rich, except for the names no emoji has, made by times ("T22:00:00Z":
# "00"), URLs and e-mail addresses ("http://x/1: past": "//x/1"; tests/cli/test_plain_table.py
# checks rich's list).
_EMOJI_CODE = re.compile(r"(:(\S*?)(?:(?:\-)(emoji|text))?:)")
_NO_EMOJI = re.compile(r"[0-9]{0,2}|.*[/@].*")

_MAX_WIDTH = 10_000
"""``timer_table`` measures the wide table on a 10 000-column console: at least that wide, rich."""


def _char_width(char: str) -> int | None:
    code = ord(char)
    index = bisect_right(_STARTS, code) - 1
    if index >= 0:
        _, end, width = _WIDTHS[index]
        if code <= end:
            return width
    return None


def cell_width(text: str) -> int | None:
    """The terminal cells ``text`` takes as rich counts them; None for an unknown character."""
    if text.isascii() and text.isprintable():
        return len(text)
    total = 0
    for char in text:
        width = _char_width(char)
        if width is None:
            return None
        total += width
    return total


def _pads(column: int, columns: int, compact: bool) -> tuple[int, int]:
    """Left and right padding of a column: one space, none on the outer sides when compact."""
    return (0 if compact and column == 0 else 1,
            0 if compact and column == columns - 1 else 1)  # fmt: skip


def _column_widths(headers: list[str], rows: list[list[str]], *, compact: bool,
                   first_min: int) -> list[int] | None:
    columns = len(headers)
    widths = []
    for column in range(columns):
        most = first_min if column == 0 else 0
        for cell in [headers[column], *(row[column] for row in rows)]:
            for line in cell.split("\n"):
                width = cell_width(line)
                if width is None:
                    return None
                most = max(most, width)
        widths.append(most + sum(_pads(column, columns, compact)))
    return widths


def _total(widths: list[int], *, compact: bool) -> int:
    """Columns plus the rules between them, plus the edges of the wide table."""
    return sum(widths) + len(widths) - 1 + (0 if compact else 2)


def table_width(headers: list[str], rows: list[list[str]], *, compact: bool,
                first_min: int) -> int | None:
    """The table's natural width (no cell wrapped), as rich measures it; None: rich must say."""
    widths = _column_widths(headers, rows, compact=compact, first_min=first_min)
    return None if widths is None else _total(widths, compact=compact)


def _plain(text: str, *, markup: bool) -> bool:
    """``text`` comes out of rich as it goes in (no markup, no emoji code)."""
    if markup and "[" in text:
        return False
    return all(_NO_EMOJI.fullmatch(code.group(2)) for code in _EMOJI_CODE.finditer(text))


def _row_lines(cells: list[str], widths: list[int], *, compact: bool, edge: str) -> list[str]:
    """One table row: its cells' lines side by side, each padded to its column's width."""
    split = [cell.split("\n") for cell in cells]
    lines = []
    for line_no in range(max(len(parts) for parts in split)):
        shown = []
        for column, (parts, width) in enumerate(zip(split, widths, strict=True)):
            left = _pads(column, len(widths), compact)[0]
            text = parts[line_no] if line_no < len(parts) else ""
            shown.append(" " * left + text + " " * (width - left - (cell_width(text) or 0)))
        lines.append(" ".join(shown) if compact else edge + edge.join(shown) + edge)
    return lines


def plain_table(title: str, headers: list[str], rows: list[list[str]], *, compact: bool,
                width: int, first_min: int) -> str | None:
    """``print(table)`` on a ``width``-column rich console without a terminal, for a table whose
    natural width fits; the title and the first column are plain text, the others markup."""
    widths = _column_widths(headers, rows, compact=compact, first_min=first_min)
    if widths is None or width >= _MAX_WIDTH:
        return None
    total = _total(widths, compact=compact)
    title_width = cell_width(title)
    marked_up = [*headers, *(cell for row in rows for cell in row[1:])]  # the title is text
    if total > width or title_width is None or not all(_plain(t, markup=True) for t in marked_up):
        return None  # a wrapped label, markup, an emoji code: rich's work
    if title_width <= total:
        lines = [title + " " * (total - title_width)]
    elif all(_char_width(char) == 1 for char in title):
        lines = [line.ljust(total) for line in _wrapped(title, total)]  # justify="left"
    else:
        return None  # wide or zero-width characters in a wrapped title
    if not compact:
        lines.append("┏" + "┳".join("━" * w for w in widths) + "┓")
    lines += _row_lines(headers, widths, compact=compact, edge="┃")
    lines.append("─" * total if compact else "┡" + "╇".join("━" * w for w in widths) + "┩")
    for row in rows:
        lines += _row_lines(row, widths, compact=compact, edge="│")
    if not compact:
        lines.append("└" + "┴".join("─" * w for w in widths) + "┘")
    return "".join(line + "\n" for line in lines)


_WORD = re.compile(r"\s*\S+\s*")
_TRAILING_SPACE = re.compile(r"\s+$")


def _breaks(text: str, width: int) -> list[int]:
    """Where rich's word wrap (``rich._wrap.divide_line``, folding) breaks one-cell text."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:  # a word longer than a line is folded
            pieces = [word[i:i + width] for i in range(0, len(word), width)]
            for number, piece in enumerate(pieces):
                if start:
                    breaks.append(start)
                if number == len(pieces) - 1:
                    offset = len(piece)
                else:
                    start += len(piece)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _wrapped(text: str, width: int) -> list[str]:
    """One-cell text as rich's ``Text.wrap`` cuts it into lines (no justification)."""
    bounds = [0, *_breaks(text, width), len(text)]
    lines = []
    for start, end in pairwise(bounds):
        line = text[start:end]
        if len(line) > width:  # Text.rstrip_end: spaces past the edge go, then the rest is cut
            spaces = _TRAILING_SPACE.search(line)
            if spaces is not None:
                line = line[:len(line) - min(len(spaces.group()), len(line) - width)]
            line = line[:width]
        lines.append(line)
    return lines


def plain_lines(texts: list[str], width: int) -> str | None:
    """``print(text, markup=False)`` for each text on a ``width``-column rich console without a
    terminal: as it is, or word-wrapped like rich if longer; None: rich must say."""
    out = []
    for text in texts:
        shown = cell_width(text)
        if shown is None or not _plain(text, markup=False) or width < 1:
            return None
        if shown <= width:
            out.append(text)
        elif all(_char_width(char) == 1 for char in text):
            out += _wrapped(text, width)
        else:
            return None  # wide or zero-width characters on a wrapped line: rich's work
    return "".join(line + "\n" for line in out)
