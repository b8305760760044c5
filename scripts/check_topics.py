#!/usr/bin/env python3
"""Lint: MQTT topic names are spelt in one place, `terminal/ruralcast_terminal/topics.py`.

Fails (exit 1, one line per finding) on a string literal in code that starts with the protocol's
topic root `rc/v1`, plain or f-string, and on an f-string that builds a topic from `ROOT`
(`f"{ROOT}/down/…"`, `f"topic read {ROOT}/#"`) anywhere but the topics module. Docstrings and comments may name topics (they
explain them); tests may too (they check the wire). Read with `ast`, so a topic inside a docstring
or a comment never counts and one assembled in an f-string always does.

    python scripts/check_topics.py [PATH …]     # default: the repository's code folders
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = ("ruralcast", "config", "bench", "scripts", "terminal")
PREFIX = "rc/v1"
# The one home of topic names, and this script (which must name the prefix it looks for).
HOME = Path("terminal/ruralcast_terminal/topics.py")
SELF = Path("scripts/check_topics.py")
SKIPPED_PARTS = {"tests", "migrations", ".venv", ".run", "node_modules", "__pycache__"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function) or bare strings."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for statement in body:
                if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant | ast.JoinedStr):
                    found.add(id(statement.value))
    return found


def _names_root(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "ROOT") or (
        isinstance(node, ast.Attribute) and node.attr == "ROOT"
    )


def findings(path: Path, source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every topic literal in `source`."""
    tree = ast.parse(source, filename=str(path))
    skip = _docstrings(tree)
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            if isinstance(node, ast.JoinedStr):
                inside_fstring.update(id(part) for part in node.values)
            continue
        if isinstance(node, ast.JoinedStr):
            inside_fstring.update(id(part) for part in node.values)
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value.startswith(PREFIX):
                yield node.lineno, f"f-string topic {first.value!r}…"
            elif any(isinstance(part, ast.FormattedValue) and _names_root(part.value) for part in node.values):
                yield node.lineno, "f-string topic built from ROOT"
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith(PREFIX)
            and id(node) not in inside_fstring
        ):
            yield node.lineno, f"topic literal {node.value!r}"


def python_files(paths: list[Path]) -> Iterator[Path]:
    for base in paths:
        candidates = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in candidates:
            relative = path.resolve().relative_to(REPOSITORY) if path.resolve().is_relative_to(REPOSITORY) else path
            if SKIPPED_PARTS & set(relative.parts) or relative in (HOME, SELF) or relative.name.startswith("test_"):
                continue
            if relative.name == "conftest.py":
                continue
            yield path


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or [REPOSITORY / p for p in DEFAULT_PATHS]
    bad = 0
    for path in python_files(paths):
        for line, text in findings(path, path.read_text("utf-8")):
            shown = path.resolve().relative_to(REPOSITORY) if path.resolve().is_relative_to(REPOSITORY) else path
            print(f"{shown}:{line}: {text}: use ruralcast_terminal.topics (ruralcast.messaging.topics)")
            bad += 1
    if bad:
        print(f"{bad} topic name(s) outside {HOME}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
