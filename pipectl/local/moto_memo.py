"""Answers moto works out again on every request, remembered in the emulator's server.

Each is a pure function of what it is given, so remembering it changes no answer, only the CPU a
request costs the server -- the emulator's bottleneck in a backfill, where every object costs one
conditional PutItem (the handler's ordering rule) and the server is one Python process:

1. Parsing a ConditionExpression. moto parses a PutItem's condition twice per request with the
   same names and values (once to check the names used, once to evaluate it against the stored
   item). A parse -- an evaluator tree, and the names and values it found -- depends on the text,
   the names and the values alone, so the last few are remembered, keyed by all three, and the
   second parse is a look-up. The tree keeps no state between evaluations.
2. Lexing a ConditionExpression, the first step of a parse that is not remembered: splitting the
   text into tokens with six regular expressions looked up per token. The tokens depend on the
   text alone (names and values come in later steps) and a pipeline sends a handful of texts, so
   they are remembered per text; each parse gets fresh copies, as later steps build on them.
3. `method_names_from_class`: on every request moto lists the response class's methods with
   inspect.getmembers to check that the action exists. A class's methods do not change while
   the server runs.

A conditional PutItem costs the server 3.2 ms of CPU with them and 4.9 ms without, as much as
one without a condition (benchmarks/emulator_put_item.py, both servers side by side); see README
"Performance" for what that does to a backfill.
tests/local/test_local_moto_memo.py fails if moto moves or reshapes what is remembered here.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict, deque
from functools import cache, lru_cache
from typing import Any

from moto.core import responses as moto_responses
from moto.dynamodb.comparisons import ConditionExpressionParser

MAX_TEXTS = 1024  # distinct condition texts whose tokens are remembered; a pipeline sends a few
MAX_PARSES = 64  # parses remembered: a request's second parse comes right after its first

_originals: dict[str, Any] = {}


class Remembered:
    """A small thread-safe LRU of finished parses: (tree, names found, values found)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._parses: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            found = self._parses.get(key)
            if found is not None:
                self._parses.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], parse: tuple[Any, ...]) -> None:
        with self._lock:
            self._parses[key] = parse
            while len(self._parses) > self._size:
                self._parses.popitem(last=False)


def as_key(value: Any) -> str:
    """A text that tells names or values apart (bytes of a B value included)."""
    return json.dumps(value, sort_keys=True, default=repr)


def install() -> None:
    """Remember these answers from now on, in this process. Idempotent."""
    if _originals:
        return
    parse = ConditionExpressionParser.parse
    lex = ConditionExpressionParser._lex_condition_expression
    method_names = moto_responses.method_names_from_class
    _originals.update(parse=parse, lex=lex, method_names=method_names)
    parses = Remembered(MAX_PARSES)

    def parse_remembered(self: ConditionExpressionParser) -> Any:
        names, values = self.expression_attribute_names, self.expression_attribute_values
        key = (self.condition_expression, as_key(names), as_key(values))
        found = parses.get(key)
        if found is None:  # parsed from copies: the tree must not share the request's dicts
            parser = ConditionExpressionParser(
                self.condition_expression, copy.deepcopy(names), copy.deepcopy(values)
            )
            tree = parse(parser)
            found = (
                tree,
                tuple(parser.expr_attr_names_found),
                tuple(parser.expr_attr_values_found),
            )
            parses.put(key, found)
        tree, names_found, values_found = found
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    @lru_cache(maxsize=MAX_TEXTS)
    def tokens(expression: str) -> tuple[Any, ...]:
        return tuple(lex(ConditionExpressionParser(expression, None, None)))

    def lex_remembered(self: ConditionExpressionParser) -> deque[Any]:
        return deque(
            node._replace(children=list(node.children))
            for node in tokens(self.condition_expression)
        )

    @cache
    def names_of(clazz: type) -> frozenset[str]:
        return frozenset(method_names(clazz))

    ConditionExpressionParser.parse = parse_remembered  # type: ignore[method-assign]
    ConditionExpressionParser._lex_condition_expression = lex_remembered  # type: ignore[method-assign]
    moto_responses.method_names_from_class = names_of  # type: ignore[assignment]


def uninstall() -> None:
    """Give moto back its own functions (for tests)."""
    if not _originals:
        return
    ConditionExpressionParser.parse = _originals.pop("parse")  # type: ignore[method-assign]
    ConditionExpressionParser._lex_condition_expression = _originals.pop("lex")  # type: ignore[method-assign]
    moto_responses.method_names_from_class = _originals.pop("method_names")
