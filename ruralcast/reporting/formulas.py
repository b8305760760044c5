"""Formulas over element codes, parsed with `ast` against a whitelist (never `eval`).

Allowed: numbers, element codes (Python identifiers), + − × ÷, unary minus and parentheses; also
the signs × and ÷ people type. A division by zero or a missing operand gives None (the cell stays
empty), never an error at query time.
"""

import ast
from collections.abc import Mapping
from functools import lru_cache

from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_ALLOWED = (ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.USub, ast.UAdd, *_BINARY)
MAX_FORMULA = 300


@lru_cache(maxsize=512)
def formula_parse(formula: str) -> ast.expr:
    """The checked syntax tree of a formula, or ValidationError saying what is not allowed."""
    text = formula.replace("×", "*").replace("÷", "/").strip()
    if not text or len(text) > MAX_FORMULA:
        raise ValidationError(_("A formula needs 1 to 300 characters."), fields={"formula": [_("Empty or too long.")]})
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as error:
        raise ValidationError(
            _("The formula “%(formula)s” cannot be read.") % {"formula": formula}, fields={"formula": [str(error.msg)]}
        ) from None
    for node in ast.walk(tree):
        allowed = isinstance(node, _ALLOWED)
        if isinstance(node, ast.Constant):
            allowed = isinstance(node.value, int | float) and not isinstance(node.value, bool)
        if isinstance(node, ast.BinOp) and not isinstance(node.op, _BINARY):
            allowed = False
        if not allowed:
            raise ValidationError(
                _("Only element codes, numbers, + − × ÷ and brackets are allowed in “%(formula)s”.")
                % {"formula": formula},
                fields={"formula": [_("Not allowed: %(part)s") % {"part": type(node).__name__}]},
            )
    return tree


def formula_names(formula: str) -> set[str]:
    return {node.id for node in ast.walk(formula_parse(formula)) if isinstance(node, ast.Name)}


def formula_evaluate(formula: str, values: Mapping[str, float | None]) -> float | None:
    """The value of the formula, or None when an operand is missing or a divisor is zero."""
    return _evaluate(formula_parse(formula), values)


def _evaluate(node: ast.expr, values: Mapping[str, float | None]) -> float | None:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # formula_parse admits no other constant
        return float(node.value)
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        return None if value is None else float(value)
    if isinstance(node, ast.UnaryOp):
        operand = _evaluate(node.operand, values)
        if operand is None:
            return None
        return -operand if isinstance(node.op, ast.USub) else operand
    assert isinstance(node, ast.BinOp)
    left, right = _evaluate(node.left, values), _evaluate(node.right, values)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return None if right == 0 else left / right
