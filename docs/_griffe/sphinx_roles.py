"""Griffe extension: render Sphinx cross-reference roles found in docstrings.

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
    """Turn Sphinx roles into optional autorefs cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        self._rewrite(pkg, loader.modules_collection)

    def _rewrite(self, obj: griffe.Object, collection: griffe.ModulesCollection) -> None:
        docstring = obj.docstring
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
