"""MATH answers: the last ``\\boxed{...}`` of a text, and an optional normalisation of equivalent forms.

We take the *last* boxed expression (the final answer, after any boxed intermediate steps).
Strict comparison is the default, for parity with the published numbers (``\\frac12`` and
``\\frac{1}{2}`` differ, so a persona could "gain" accuracy by formatting alone);
`normalize_math` is a labelled variant.
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (braces balanced), or ``\\boxed x``.

    Returns None when there is none or its braces never close.

    Example:
        >>> last_boxed(r"so \\boxed{2} then \\boxed{\\frac{1}{2}}.")
        '\\\\frac{1}{2}'
    """
    starts = [
        (m.start(), m.end()) for cmd in _BOX_COMMANDS for m in re.finditer(re.escape(cmd), text)
    ]
    for _, end in sorted(starts, reverse=True):
        rest = text[end:]
        if rest.startswith("{"):
            content = _balanced(rest)
            if content is not None:
                return content.strip()
        elif rest.startswith(" "):  # "\boxed 5": the argument runs to the next space or "$"
            match = re.match(r"\s+([^\s$]+)", rest)
            if match:
                return match.group(1).rstrip(".")
    return None


def _balanced(text: str) -> str | None:
    """The content of the brace group that opens at ``text[0]``; None when it never closes."""
    depth = 0
    for i, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[1:i]
    return None


def normalize_math(answer: str) -> str:
    """A canonical string for comparing MATH answers that differ only in notation.

    Removes spaces, ``\\left``/``\\right``, ``\\!``/``\\,``, ``$``, a trailing period, degree
    marks and ``\\text{...}`` wrappers around units; rewrites ``\\dfrac``/``\\tfrac`` to
    ``\\frac`` and single-token fractions ``\\frac12`` to ``\\frac{1}{2}``; drops a leading
    ``x=``; and rewrites a plain decimal or integer (``0.50``, ``5.0``) to its shortest form.

    Example:
        >>> normalize_math(r"\\dfrac12") == normalize_math(r"\\frac{1}{2}")
        True
    """
    s = answer.strip()
    s = re.sub(r"\\text\{\s*([^{}]*?)\s*\}", r"\1", s)
    s = re.sub(r"\\(?:mbox|mathrm)\{\s*([^{}]*?)\s*\}", r"\1", s)
    for token in ("\\left", "\\right", "\\!", "\\,", "\\;", "\\ ", "$"):
        s = s.replace(token, "")
    s = s.replace("^\\circ", "").replace("^{\\circ}", "").replace("\\circ", "").replace("°", "")
    s = re.sub(r"\s+", "", s).rstrip(".")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\{([^{}]+)\}(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", s)
    s = re.sub(r"^[a-zA-Z]=", "", s)
    if re.fullmatch(r"-?\d+(?:\.\d+)?", s):
        s = _shortest_number(s)
    return s


def _shortest_number(s: str) -> str:
    value = float(s)
    return str(int(value)) if value.is_integer() else repr(value)
