"""UTF-8 is the only text encoding accepted; this module words the refusal of anything else.

Pure: no Django imports. charset-normalizer only ever sees a bounded window of bytes, and only
to *name* the likely encoding in the message: it never decides whether a file is accepted.
"""

from __future__ import annotations

import charset_normalizer

UTF8_BOM = b"\xef\xbb\xbf"
# The window around the first bad byte that is shown to charset-normalizer (cost is bounded).
GUESS_WINDOW_BYTES = 64 * 1024
# Below this many bytes charset-normalizer's guesses are mostly noise (see guess_encoding).
MIN_GUESS_BYTES = 1024
# Encodings worth naming; charset-normalizer's other answers on odd input mislead more than help.
COMMON_ENCODINGS = frozenset(
    {
        *(f"cp{n}" for n in range(1250, 1259)),
        *(f"iso8859_{n}" for n in range(1, 17)),
        "latin_1",
        "koi8_r",
        "koi8_u",
        "mac_roman",
        "cp437",
        "cp850",
        "cp932",
        "shift_jis",
        "euc_jp",
        "iso2022_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "euc_kr",
        "cp949",
    }
)


def guess_encoding(window: bytes) -> str | None:
    """Name the encoding ``window`` (bytes around a non-UTF-8 byte) is likely in, or None.

    charset-normalizer needs text to go on: on a short line, or on a mostly-ASCII window, it
    names rare code pages such as cp1006 for a plain "Jos\xe9". Its answer is used only for
    windows of at least ``MIN_GUESS_BYTES`` and only when it is a common encoding; otherwise
    the usual culprit is named, Windows-1252/Latin-1 (what spreadsheet programs export),
    provided the bytes decode as that.
    """
    if len(window) >= MIN_GUESS_BYTES:
        best = charset_normalizer.from_bytes(window[:GUESS_WINDOW_BYTES]).best()
        if best is not None and str(best.encoding) in COMMON_ENCODINGS:
            return str(best.encoding)
    try:
        window.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return "Windows-1252 (Latin-1)"


def not_utf8_message(*, offset: int, line: int, bad_byte: int, window: bytes, mixed: bool) -> str:
    """Word the refusal of a file whose byte at ``offset`` (on physical ``line``) is not UTF-8.

    ``mixed`` says valid non-ASCII UTF-8 was seen earlier, i.e. the file mixes two encodings.
    """
    guess = guess_encoding(window)
    hint = f"; that part may be {guess}" if guess else ""
    where = f"byte 0x{bad_byte:02X} at offset {offset} (line {line})"
    if mixed:
        return (
            f"the file mixes text encodings: it contains UTF-8 text, but {where} is not UTF-8"
            f"{hint}. Save the whole file as UTF-8 and upload it again"
        )
    return (
        f"the file is not valid UTF-8: {where} cannot be decoded{hint}. "
        "Save the file as UTF-8 and upload it again"
    )


def window_around(data: bytes, index: int) -> bytes:
    """Return at most ``GUESS_WINDOW_BYTES`` of ``data`` centred on ``index``."""
    half = GUESS_WINDOW_BYTES // 2
    start = max(0, index - half)
    return data[start : start + GUESS_WINDOW_BYTES]
