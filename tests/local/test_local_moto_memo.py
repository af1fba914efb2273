"""The emulator's remembered moto answers (pipectl/local/moto_memo.py) are moto's answers."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import responses as moto_responses
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import Item

from pipectl.local import moto_memo

HANDLER = Path(__file__).resolve().parents[2] / "handler" / "app.py"
FIX = "update pipectl/local/moto_memo.py and the moto pin in pyproject.toml"


def handler_conditions() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("pipectl_handler_for_memo_test", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.CONDITIONS)


NAMES = {
    "#t": "event_time",
    "#etag": "etag",
    "#seq": "seq_sort",
    "#run": "backfill_run",
    "#sz": "size",
}
VALUES = {
    ":t": {"S": "2026-11-30T10:00:00.000Z"},
    ":etag": {"S": "abc"},
    ":seq": {"S": "0000000000000000000000000000000000000000000000000000000000000005"},
    ":run": {"S": "run-2"},
    ":low": {"N": "1"},
    ":high": {"N": "10"},
}
OTHER_EXPRESSIONS = [
    "#sz BETWEEN :low AND :high",
    "NOT (attribute_exists(#t)) OR begins_with(#etag, :etag)",
    "#t IN (:t, :etag) AND size(#etag) > :low",
    "attribute_type(#etag, :etag) OR #etag = :etag",
]
ITEMS = [
    {},
    {"event_time": {"S": "2026-11-30T09:00:00.000Z"}, "etag": {"S": "old"}, "size": {"N": "5"}},
    {"event_time": {"S": "2026-11-30T11:00:00.000Z"}, "etag": {"S": "abc"}, "size": {"N": "50"}},
    {
        "event_time": {"S": "2026-11-30T10:00:00.000Z"},
        "etag": {"S": "abc"},
        "backfill_run": {"S": "run-1"},
        "seq_sort": {"S": "0000000000000000000000000000000000000000000000000000000000000004"},
    },
]


def outcome(expression: str) -> tuple[list[bool], list[str]]:
    """How the parsed expression judges each item, and the names the parse found."""
    used = {k: v for k, v in NAMES.items() if k in expression}
    values = {k: v for k, v in VALUES.items() if k in expression}
    parser = ConditionExpressionParser(expression, used, values)
    op = parser.parse()
    judged = [op.expr(Item(hash_key=None, range_key=None, attrs=attrs)) for attrs in ITEMS]
    return judged, list(parser.expr_attr_names_found)


@pytest.fixture
def memo() -> Iterator[None]:
    moto_memo.install()
    try:
        yield
    finally:
        moto_memo.uninstall()


def test_moto_still_has_what_is_remembered():
    params = list(inspect.signature(ConditionExpressionParser._lex_condition_expression).parameters)
    assert params == ["self"], FIX
    assert list(inspect.signature(ConditionExpressionParser.parse).parameters) == ["self"], FIX
    assert list(inspect.signature(ConditionExpressionParser).parameters) == [
        "condition_expression",
        "expression_attribute_names",
        "expression_attribute_values",
    ], FIX  # a parse depends on these three alone
    parse = inspect.getsource(ConditionExpressionParser.parse)
    assert "self.expr_attr_names_found.extend" in parse, FIX
    assert "self.expr_attr_values_found.extend" in parse, FIX
    assert "self._lex_condition_expression()" in inspect.getsource(ConditionExpressionParser.parse)
    assert "self.condition_expression" in inspect.getsource(
        ConditionExpressionParser._lex_condition_expression
    ), FIX
    call_action = inspect.getsource(moto_responses.BaseResponse.call_action)
    assert "method_names = method_names_from_class(self.__class__)" in call_action, FIX
    assert "if action in method_names:" in call_action, FIX


@pytest.mark.parametrize("expression", [*handler_conditions().values(), *OTHER_EXPRESSIONS])
def test_same_judgement_as_moto(expression, memo):
    remembered = outcome(expression)
    again = outcome(expression)  # from the remembered tokens this time
    moto_memo.uninstall()
    assert remembered == again == outcome(expression)


def counted(monkeypatch, method: str) -> list[str]:
    """The condition texts moto's own `method` is called with from now on."""
    calls: list[str] = []
    original = getattr(ConditionExpressionParser, method)

    def counting(self):
        calls.append(self.condition_expression)
        return original(self)

    monkeypatch.setattr(ConditionExpressionParser, method, counting)
    return calls


def test_a_request_s_second_parse_is_remembered(monkeypatch):
    parsed = counted(monkeypatch, "parse")
    moto_memo.install()
    try:
        expressions = list(handler_conditions().values())
        first = [outcome(expression) for expression in expressions]
        again = [outcome(expression) for expression in expressions]
    finally:
        moto_memo.uninstall()
    assert parsed == expressions
    assert first == again  # names found are reported on a remembered parse too


def test_other_values_are_parsed_again_from_remembered_tokens(monkeypatch):
    parsed = counted(monkeypatch, "parse")
    lexed = counted(monkeypatch, "_lex_condition_expression")
    expression = handler_conditions()["backfill"]
    names = {k: v for k, v in NAMES.items() if k in expression}
    moto_memo.install()
    try:
        judged = []
        for run in ("run-1", "run-2", "run-1"):
            values = {":t": VALUES[":t"], ":etag": VALUES[":etag"], ":run": {"S": run}}
            tree = ConditionExpressionParser(expression, names, values).parse()
            judged.append(tree.expr(Item(hash_key=None, range_key=None, attrs=ITEMS[3])))
    finally:
        moto_memo.uninstall()
    assert judged == [False, True, False]  # the stored item came from run-1
    assert parsed == [expression, expression]  # run-1's parse was remembered
    assert lexed == [expression]


def test_a_remembered_tree_shares_nothing_with_the_request(memo):
    values = {":m": {"M": {"a": {"S": "x"}}}}
    names = {"#m": "meta"}
    tree = ConditionExpressionParser("#m = :m", names, values).parse()
    values[":m"]["M"]["a"] = {"S": "changed"}  # the request's dict, changed afterwards
    item = Item(hash_key=None, range_key=None, attrs={"meta": {"M": {"a": {"S": "x"}}}})
    assert tree.expr(item) is True
    changed = ConditionExpressionParser("#m = :m", names, values).parse()
    assert changed.expr(item) is False


def test_each_parse_gets_its_own_tokens(memo):
    parser = ConditionExpressionParser("#t < :t", NAMES, VALUES)
    first = parser._lex_condition_expression()
    first[0].children.append("changed")
    first.clear()
    second = parser._lex_condition_expression()
    assert [node.text for node in second] == ["#t", "<", ":t"]
    assert all(node.children == [] for node in second)


def test_a_bad_expression_fails_every_time(memo):
    for _ in range(2):
        with pytest.raises(ValueError, match="Cannot parse condition"):
            ConditionExpressionParser("#t < :t ~ 1", NAMES, VALUES).parse()


def test_method_names_are_moto_s(memo):
    remembered = moto_responses.method_names_from_class(moto_responses.BaseResponse)
    moto_memo.uninstall()
    assert remembered == set(moto_responses.method_names_from_class(moto_responses.BaseResponse))


@mock_aws
def test_conditional_put_through_moto(memo):
    """A request end to end, as the emulator serves it: the handler's backfill rule refuses an
    item from the same run and accepts one from another run; an unknown action still fails."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="T",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    rule = handler_conditions()["backfill"]

    def put(run: str) -> Any:
        item = {"k": {"S": "a"}, "event_time": VALUES[":t"], "etag": {"S": "abc"}}
        item["backfill_run"] = {"S": run}
        return dynamodb.put_item(
            TableName="T",
            Item=item,
            ConditionExpression=rule,
            ExpressionAttributeNames={k: v for k, v in NAMES.items() if k in rule},
            ExpressionAttributeValues={
                ":t": VALUES[":t"],
                ":etag": {"S": "abc"},
                ":run": {"S": run},
            },
        )

    put("run-1")
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        put("run-1")
    put("run-2")
    stored = dynamodb.get_item(TableName="T", Key={"k": {"S": "a"}})["Item"]
    assert stored["backfill_run"] == {"S": "run-2"}
