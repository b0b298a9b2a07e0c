"""Griffe extension: render Sphinx roles and math found in docstrings.

The docstrings of ``src/crm_metrics`` use Sphinx roles such as
``:class:`~crm_metrics.ValidationError``` or ``:func:`pii_columns```, which
Markdown would show literally. This extension rewrites each role, before the
docstring is parsed, into an *optional* mkdocs-autorefs cross-reference:

* a name found in the package (absolute, or relative to the module or class the
  docstring belongs to) links to the page that documents it;
* any other name (``numpy.random.default_rng``, ``typing.Literal``, ...) is shown
  as inline code, with no link and no warning (the site is built offline, so no
  external inventories are fetched).

``~`` keeps only the last component as the text, as in Sphinx; ``text <target>``
sets the text explicitly.

Math (``:math:`...``` roles and ``.. math::`` blocks) is rewritten into plain
text with Unicode symbols (``t_0`` becomes ``t₀``, ``\\le`` becomes ``≤``,
``\\sum`` becomes ``Σ``, ``\\theta`` becomes ``θ``, ``\\bar v`` becomes
``v̄``, ``\\frac{a}{b}`` becomes ``a / b``), shown as code: the site loads no
MathJax or KaTeX, so it renders offline. Only the small subset of TeX the
docstrings use is understood; anything else is shown as written, without its
backslashes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|type)"
    r":`(?P<body>[^`]+)`"
)
_EXPLICIT = re.compile(r"(?P<text>.+?)\s*<(?P<target>[^<>]+)>")
_MATH_ROLE = re.compile(r":math:`(?P<body>[^`]+)`")
_MATH_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. math::[ \t]*$")
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_TEX_SYMBOLS = {
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "cdot": "·",
    "times": "×",
    "pm": "±",
    "mp": "∓",
    "infty": "∞",
    "approx": "≈",
    "sum": "Σ",
    "prod": "∏",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "sigma": "σ",
    "qquad": " ",
    "quad": " ",
    ",": " ",
    ";": " ",
    " ": " ",
}
_TEX_TEXT = frozenset({"text", "mathrm", "mathit", "operatorname", "textrm"})
_SCRIPT_CHARS = "0123456789+-"
_SUBSCRIPT = str.maketrans(_SCRIPT_CHARS, "₀₁₂₃₄₅₆₇₈₉₊₋")
_SUPERSCRIPT = str.maketrans(_SCRIPT_CHARS, "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def _tex_group(tex: str, i: int) -> tuple[str, int]:
    """The argument starting at ``tex[i]`` (``{...}`` or one character) and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        return tex[i], i + 1
    depth = 0
    for j in range(i, len(tex)):
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1 : j], j + 1
    return tex[i + 1 :], len(tex)


def _wrapped(text: str) -> str:
    return text if text.isalnum() or len(text) <= 1 else f"({text})"


def _detex(tex: str) -> str:
    """Plain text, with Unicode symbols, for the small TeX subset of the docstrings."""
    out: list[str] = []
    i = 0
    while i < len(tex):
        char = tex[i]
        if char == "\\":
            match = _TEX_COMMAND.match(tex, i)
            assert match is not None
            name, i = match[1], match.end()
            if name in _TEX_TEXT:
                body, i = _tex_group(tex, i)
                out.append(body.replace("\\_", "_"))
            elif name == "frac":
                top, i = _tex_group(tex, i)
                bottom, i = _tex_group(tex, i)
                out.append(f"{_wrapped(_detex(top))} / {_wrapped(_detex(bottom))}")
            elif name == "sqrt":
                body, i = _tex_group(tex, i)
                out.append(f"√{_wrapped(_detex(body))}")
            elif name == "bar":  # a combining macron over one letter: v̄
                body, i = _tex_group(tex, i)
                body = _detex(body)
                out.append(f"{body}\u0304" if len(body) == 1 else f"mean({body})")
            else:
                out.append(_TEX_SYMBOLS.get(name, name))
        elif char in "^_":
            body, i = _tex_group(tex, i + 1)
            body = _detex(body)
            if body and all(c in _SCRIPT_CHARS for c in body):
                out.append(body.translate(_SUPERSCRIPT if char == "^" else _SUBSCRIPT))
            else:
                out.append(char + _wrapped(body))
        elif char in "{}":
            i += 1
        else:
            out.append(char)
            i += 1
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _math_block(lines: list[str], indent: str) -> list[str]:
    """A ``.. math::`` body as a fenced text block, one line per ``\\qquad``-separated part."""
    tex = " ".join(line.strip() for line in lines)
    parts = [_detex(part) for part in re.split(r"\\qquad|\\\\", tex)]
    return [f"{indent}```text", *(f"{indent}{p}" for p in parts if p), f"{indent}```"]


def _rewrite_math(text: str) -> str:
    """``.. math::`` blocks as fenced text blocks, ``:math:`` roles as code spans."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        directive = _MATH_BLOCK.match(lines[i])
        if directive is None:
            out.append(lines[i])
            i += 1
            continue
        indent = directive["indent"]
        i += 1
        body: list[str] = []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            body.pop()
        out.extend(_math_block([b for b in body if b.strip()], indent))
        out.append("")
    rewritten = "\n".join(out)
    return _MATH_ROLE.sub(lambda m: f"`{_detex(m['body'])}`", rewritten)


def _scopes(obj: griffe.Object) -> list[str]:
    """Paths a relative name may be relative to: the object, then its parents."""
    scopes = []
    current: Any = obj
    while current is not None:
        scopes.append(current.path)
        current = current.parent
    return scopes


def _resolve(collection: griffe.ModulesCollection, obj: griffe.Object, target: str) -> str:
    """The canonical path of ``target`` as seen from ``obj``, or ``target`` itself."""
    candidates = [f"{scope}.{target}" for scope in _scopes(obj)] + [target]
    for candidate in candidates:
        try:
            found = collection[candidate]
            return str(found.canonical_path)
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
    return target


class SphinxRoles(griffe.Extension):
    """Turn Sphinx roles into optional autorefs cross-references, and math into text."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        self._rewrite(pkg, loader.modules_collection)

    def _rewrite(self, obj: griffe.Object, collection: griffe.ModulesCollection) -> None:
        docstring = obj.docstring
        if docstring is not None and ("math::" in docstring.value or ":math:`" in docstring.value):
            docstring.value = _rewrite_math(docstring.value)
        if docstring is not None and ":`" in docstring.value:

            def replace(match: re.Match[str]) -> str:
                body = match["body"].strip()
                explicit = _EXPLICIT.fullmatch(body)
                if explicit:
                    text, target = explicit["text"], explicit["target"].lstrip("~")
                else:
                    target = body.lstrip("~")
                    text = target.rsplit(".", 1)[-1] if body.startswith("~") else target
                identifier = _resolve(collection, obj, target)
                return (
                    f'<autoref identifier="{html.escape(identifier)}" optional>'
                    f"<code>{html.escape(text)}</code></autoref>"
                )

            docstring.value = _ROLE.sub(replace, docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member, collection)  # type: ignore[arg-type]
