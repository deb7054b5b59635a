"""The docs and docstrings name code that exists: every module, object and ``.py`` file they cite.

A newcomer follows the README and docs/ to find where a feature is defined, where the fit is and
where the routes are; after the package relayout (issue 12) a doc still cited a ``definitions.py``
that no longer existed and ``serving.scoring.batch.read_attributes``, which lives in
``batch_rows``. The check is static (files and their syntax trees, nothing imported), so it is
quick and needs no optional dependency.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("features", "serving", "training", "benchmarks")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Not after a "/" or ".": ``docs/features.md`` is a file, not the module ``features.md``.
DOTTED = re.compile(rf"(?<![\w/.])((?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
PY_FILE = re.compile(r"(?<![\w./-])([\w./-]*[A-Za-z0-9_]\.py)\b")


def _doc_files() -> list[Path]:
    """README.md and every markdown file under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _code_spans() -> list[tuple[str, str]]:
    """Every backticked span of the docs as ``(file:line, text)``."""
    spans = []
    for path in _doc_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            spans += [(where, m.group(1)) for m in CODE_SPAN.finditer(line)]
    return spans


def _module_file(parts: list[str]) -> Path | None:
    """The source file of the dotted module ``parts`` (a module or a package), or None."""
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def _top_level_names(path: Path) -> frozenset[str]:
    """Names a module defines or imports at its top level."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return frozenset(names)


def _unresolved(dotted: str) -> str | None:
    """Why ``dotted`` names nothing in the repository, or None when it does.

    The longest prefix that is a module must define the next name at its top level; any
    further names (attributes of a class) must at least occur in that module's source."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        path = _module_file(parts[:cut])
        if path is None:
            continue
        rest = parts[cut:]
        if not rest:
            return None
        if rest[0] not in _top_level_names(path):
            return f"{'.'.join(parts[:cut])} defines no {rest[0]}"
        source = path.read_text(encoding="utf-8")
        missing = [name for name in rest[1:] if not re.search(rf"\b{name}\b", source)]
        return f"{path.relative_to(ROOT)} never names {missing}" if missing else None
    return "no such module"


def _unresolved_spans(spans: list[tuple[str, str]]) -> list[str]:
    """``where: dotted (why)`` for each dotted name of ``spans`` that names nothing."""
    return [
        f"{where}: {dotted} ({why})"
        for where, span in spans
        for dotted in DOTTED.findall(span)
        for why in [_unresolved(dotted)]
        if why is not None
    ]


def test_every_dotted_name_in_the_docs_exists() -> None:
    """Each ``features.…``, ``serving.…``, ``training.…`` and ``benchmarks.…`` the docs cite
    is a module of this repository, or a name that module defines."""
    problems = _unresolved_spans(_code_spans())
    assert not problems, "docs cite code that does not exist:\n" + "\n".join(problems)


def test_every_python_file_in_the_docs_exists() -> None:
    """A cited ``dir/file.py`` exists at that path; a bare ``file.py`` exists somewhere in the
    packages, tests or benchmarks (the docs use bare names inside a section about one
    package)."""
    existing = {
        path.relative_to(ROOT).as_posix()
        for top in (*PACKAGES, "tests", "scripts")
        for path in (ROOT / top).rglob("*.py")
    }
    names = {path.rsplit("/", 1)[-1] for path in existing}
    problems = [
        f"{where}: {cited}"
        for where, span in _code_spans()
        for cited in PY_FILE.findall(span)
        if not (cited in existing or (ROOT / cited).is_file())
        and not ("/" not in cited and cited in names)
    ]
    assert not problems, "docs cite .py files that do not exist:\n" + "\n".join(problems)


DOCUMENTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _docstring_spans() -> list[tuple[str, str]]:
    """Every backticked span of the packages' docstrings (modules, classes, functions) as
    ``(file:line, text)``; the line is where the docstring's owner starts."""
    spans = []
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            owners = [tree, *(n for n in ast.walk(tree) if isinstance(n, DOCUMENTED))]
            for owner in owners:
                text = ast.get_docstring(owner, clean=False) or ""
                where = f"{path.relative_to(ROOT)}:{getattr(owner, 'lineno', 1)}"
                spans += [(where, m.group(1)) for m in CODE_SPAN.finditer(text)]
    return spans


def test_every_dotted_name_in_the_docstrings_exists() -> None:
    """Each ``features.…``, ``serving.…``, ``training.…`` and ``benchmarks.…`` a docstring
    cites names code that exists: a docstring that sends the reader to a moved module (as
    spark_scoring's did to a ``serving.scoring.spark_daemon`` that never existed) fails."""
    problems = _unresolved_spans(_docstring_spans())
    assert not problems, "docstrings cite code that does not exist:\n" + "\n".join(problems)
