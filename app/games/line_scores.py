"""Line scores as the game logs and the box scores keep them: "005130000", "1(10)0x"."""

import re

# An inning: one digit, a multi-digit count in parentheses, or "x" (not batted).
LINE_SCORE_TOKEN = re.compile(r"\((\d+)\)|(\d)|([xX])")


def line_score_innings(line_score: str | None, innings: int) -> tuple[float, float]:
    """Runs of the first ``innings`` innings of a line score and how many of them were
    batted: "005130000" -> 9 runs in 5 of 5 for ``innings`` = 5; "x" is an inning not
    batted. (nan, nan) when the line score cannot be read."""
    text = (line_score or "").strip()
    position, runs, batted = 0, 0, 0
    while position < len(text) and batted < innings:
        token = LINE_SCORE_TOKEN.match(text, position)
        if token is None:
            return float("nan"), float("nan")
        if not token[3]:
            runs += int(token[1] or token[2])
            batted += 1
        position = token.end()
    return (float(runs), float(batted)) if text else (float("nan"), float("nan"))
