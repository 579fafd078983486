"""Tables for the fake DynamoDB (fake_dynamodb.py): items kept in memory, and just enough of the
expression language for what Tally's stores send (and its rollup before the store seam, so the
rollup bench can run both): key conditions ``=``, ``BETWEEN`` and ``begins_with``, a sparse
index on ``dirty``, update expressions of SET (with ``if_not_exists``), ADD and REMOVE, and
conditions built of ``=``, ``<>``, ``<=``, ``attribute_not_exists``, AND, OR and parentheses.
Anything else is an error, so a benchmark cannot pass on an expression the fake misreads."""

import re
import threading
from bisect import bisect_left, insort
from typing import Any

Item = dict[str, Any]
MAX_PAGE = 1024 * 1024


class ConditionFailed(Exception):
    pass


class Tables:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, dict[str, dict[str, Item]]] = {}  # table -> pk -> sk -> item
        self._order: dict[str, dict[str, list[str]]] = {}  # table -> pk -> sorted sks

    def put(self, table: str, item: Item, condition: str | None = None, names: Any = None, values: Any = None) -> None:
        pk, sk = item["pk"]["S"], item.get("sk", {}).get("S", "")
        with self._lock:
            old = self._items.get(table, {}).get(pk, {}).get(sk)
            if condition and not _holds(condition, old or {}, names or {}, values or {}):
                raise ConditionFailed
            self._store(table, pk, sk, dict(item))

    def get(self, table: str, key: Item) -> Item | None:
        with self._lock:
            return self._items.get(table, {}).get(key["pk"]["S"], {}).get(key.get("sk", {}).get("S", ""))

    def delete(self, table: str, key: Item) -> None:
        pk, sk = key["pk"]["S"], key.get("sk", {}).get("S", "")
        with self._lock:
            if self._items.get(table, {}).get(pk, {}).pop(sk, None) is not None:
                order = self._order[table][pk]
                order.pop(bisect_left(order, sk))

    def update(self, table: str, key: Item, expression: str, condition: str | None, names: Any, values: Any) -> None:
        pk, sk = key["pk"]["S"], key.get("sk", {}).get("S", "")
        with self._lock:
            old = self._items.get(table, {}).get(pk, {}).get(sk)
            if condition and not _holds(condition, old or {}, names or {}, values or {}):
                raise ConditionFailed
            item = dict(old) if old else dict(key)
            _apply(expression, item, names or {}, values or {})
            self._store(table, pk, sk, item)

    def query(self, table: str, condition: str, values: Any, index: str | None, start: Item | None) -> Any:
        with self._lock:
            if index is not None:
                return self._query_index(table, condition, values), None
            pk, test = _key_condition(condition, values)
            order = self._order.get(table, {}).get(pk, [])
            rows = self._items.get(table, {}).get(pk, {})
            begin = bisect_left(order, start["sk"]["S"]) + 1 if start else 0
            found, size = [], 0
            for sk in order[begin:]:
                if test(sk):
                    found.append(rows[sk])
                    size += _size(rows[sk])
                    if size >= MAX_PAGE:
                        return found, {"pk": {"S": pk}, "sk": {"S": sk}}
            return found, None

    def scan(self, table: str) -> list[Item]:
        with self._lock:
            return [item for rows in self._items.get(table, {}).values() for item in rows.values()]

    def _query_index(self, table: str, condition: str, values: Any) -> list[Item]:
        match = re.fullmatch(r"dirty = (:\w+)", condition.strip())
        if not match:
            raise ValueError(f"unsupported index condition {condition!r}")
        wanted = values[match[1]]["S"]
        return [{"pk": item["pk"], "sk": item["sk"], "dirty": item["dirty"]} for rows in
                self._items.get(table, {}).values() for item in rows.values()
                if item.get("dirty", {}).get("S") == wanted]  # fmt: skip

    def _store(self, table: str, pk: str, sk: str, item: Item) -> None:
        rows = self._items.setdefault(table, {}).setdefault(pk, {})
        if sk not in rows:
            insort(self._order.setdefault(table, {}).setdefault(pk, []), sk)
        rows[sk] = item


def _key_condition(condition: str, values: Any) -> Any:
    text = condition.strip()
    if m := re.fullmatch(r"pk = (:\w+)", text):
        return values[m[1]]["S"], lambda sk: True
    if m := re.fullmatch(r"pk = (:\w+) AND sk BETWEEN (:\w+) AND (:\w+)", text):
        lo, hi = values[m[2]]["S"], values[m[3]]["S"]
        return values[m[1]]["S"], lambda sk: lo <= sk <= hi
    if m := re.fullmatch(r"pk = (:\w+) AND begins_with\(sk, (:\w+)\)", text):
        prefix = values[m[2]]["S"]
        return values[m[1]]["S"], lambda sk: sk.startswith(prefix)
    raise ValueError(f"unsupported key condition {condition!r}")


def _apply(expression: str, item: Item, names: Any, values: Any) -> None:
    for action, body in re.findall(r"(SET|ADD|REMOVE)\s+(.*?)(?=\s+(?:SET|ADD|REMOVE)\s|$)", expression.strip()):
        for clause in _split(body):
            if action == "REMOVE":
                item.pop(names.get(clause, clause), None)
            elif action == "ADD":
                name, value = clause.split()
                name = names.get(name, name)
                total = int(item.get(name, {}).get("N", "0")) + int(values[value]["N"])
                item[name] = {"N": str(total)}
            else:
                name, value = (part.strip() for part in clause.split("=", 1))
                name = names.get(name, name)
                if m := re.fullmatch(r"if_not_exists\(([#\w]+), (:\w+)\)", value):
                    if name not in item:
                        item[name] = values[m[2]]
                else:
                    item[name] = values[value]


def _split(body: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in body:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def _holds(condition: str, item: Item, names: Any, values: Any) -> bool:
    tokens = re.findall(r"\(|\)|AND|OR|attribute_not_exists\([#\w]+\)|[#\w:]+\s*(?:<>|<=|=)\s*[#\w:]+", condition)
    position = 0

    def expression() -> bool:
        nonlocal position
        result = term()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            result = term() or result
        return result

    def term() -> bool:
        nonlocal position
        result = factor()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            result = factor() and result
        return result

    def factor() -> bool:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            result = expression()
            position += 1  # ")"
            return result
        if token.startswith("attribute_not_exists"):
            name = token[len("attribute_not_exists(") : -1]
            return names.get(name, name) not in item
        return _compare(token, item, names, values)

    return expression()


def _compare(token: str, item: Item, names: Any, values: Any) -> bool:
    left, op, right = re.fullmatch(r"([#\w:]+)\s*(<>|<=|=)\s*([#\w:]+)", token).groups()  # type: ignore[union-attr]
    have, want = item.get(names.get(left, left)), values[right]
    if have is None:
        return op == "<>"
    a, b = _scalar(have), _scalar(want)
    return bool({"=": a == b, "<>": a != b, "<=": a <= b}[op])


def _scalar(value: Any) -> Any:
    (kind, raw), *_ = value.items()
    return int(raw) if kind == "N" else raw


def _size(item: Item) -> int:
    return sum(len(name) + len(str(value)) for name, value in item.items())
