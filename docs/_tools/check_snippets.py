"""Run the Python examples of documentation pages and compare their printed output.

Every page shows the real output of its examples: a fenced ``python`` block
followed (with only blank lines between) by a fenced ``text`` block holds the
code and what it prints. This script runs the ``python`` blocks of a page in
order, in one namespace (as a reader pasting them into one session would), and
compares each block's standard output with the ``text`` block after it.

    uv run python docs/_tools/check_snippets.py docs/kpis/*.md docs/engine.md
    uv run python docs/_tools/check_snippets.py --write docs/kpis/cohorts.md
    uv run python docs/_tools/check_snippets.py --cwd ../shared/data/cdnow docs/clv/index.md

``--write`` replaces each ``text`` block with the real output instead (review
the diff). ``--cwd`` runs the page from another folder: the CDNOW tutorial reads
``CDNOW_sample.txt`` from the current folder. ``python`` blocks that do not
compile (signatures shown for reading, such as ``f(x, /, *, y=1) -> T``) are
skipped. Exits 1 when an output differs or a block raises.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import traceback
from pathlib import Path

import polars as pl

_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```[ \t]*$", flags=re.S | re.M)


def check_page(path: Path, *, write: bool) -> bool:
    """Run one page's examples; report (or, with ``write``, fix) differing outputs."""
    text = path.read_text(encoding="utf-8")
    blocks = list(_FENCE.finditer(text))
    pl.Config.restore_defaults()  # each page starts from Polars' default display
    namespace: dict[str, object] = {"__name__": "__main__"}
    edits: list[tuple[int, int, str]] = []
    ok = True
    for index, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        try:
            code = compile(
                block.group(2), f"{path}:{text.count(chr(10), 0, block.start()) + 1}", "exec"
            )
        except SyntaxError:
            continue  # a signature shown for reading, not an example
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except Exception:
            print(f"{code.co_filename}: the example raised\n{traceback.format_exc()}")
            return False
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if (
            following is None
            or following.group(1) != "text"
            or text[block.end() : following.start()].strip()
        ):
            continue  # an example without a printed output
        got = out.getvalue().rstrip("\n") + "\n"
        if got != following.group(2).rstrip("\n") + "\n":
            ok = False
            print(f"{code.co_filename}: the output differs from the text block after it")
            edits.append((following.start(2), following.end(2), got))
    if write and edits:
        for start, end, new in reversed(edits):
            text = text[:start] + new + text[end:]
        path.write_text(text, encoding="utf-8")
        print(f"{path}: {len(edits)} output block(s) rewritten")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="rewrite differing outputs")
    parser.add_argument("--cwd", type=Path, help="run the examples from this folder")
    args = parser.parse_args()
    pages = [page.resolve() for page in args.pages]
    if args.cwd is not None:
        os.chdir(args.cwd)
    results = [check_page(page, write=args.write) for page in pages]
    for page, ok in zip(pages, results, strict=True):
        print(f"{page.name}: {'ok' if ok else 'DIFFERS'}")
    return 0 if all(results) or args.write else 1


if __name__ == "__main__":
    sys.exit(main())
