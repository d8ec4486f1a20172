"""Memoise the two costly and pure parts of yangson's schema check: document-wide `when` conditions and
the member-pattern check of a node.

1. `when` conditions. 
RFC 8519 guards each ACE's `matches/eth|ipv4|ipv6` with `when "derived-from-or-self(/acls/acl/type, ...)"`.
The path is absolute and has no predicates, so the value is the same for every ACE of a document, yet yangson
evaluates it (walking every ACL) at every `matches` node. Such conditions are memoised here for the span of one
`document_scope()`.

A condition is memoised only when its value cannot depend on the context node: it is built from absolute
location paths whose steps are child/descendant name tests without predicates, literals, numbers and the pure
functions below. yangson evaluates a member's condition with a placeholder member inserted at the context node,
so a condition is also left alone when one of its name tests could select that placeholder.

2. Member patterns. Whether a node's members fit its schema pattern (and the error if not) depends only on
the schema node, the member names in order, the content type and the values of the pattern's `when`
conditions (yangson's pattern derivatives read nothing else). The outcome is cached under exactly that key,
so the pattern derivatives are computed once per distinct shape rather than once per instance node.

Both are active only inside `document_scope()`; outside it the schema behaves exactly as yangson ships it.
"""

from __future__ import annotations

import contextlib
import contextvars
import types
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional



@dataclass
class _Scope:
    when: dict[int, bool] = field(default_factory=dict)
    deferred: Optional[list[Any]] = None  # missing-data errors collected instead of raised, when a list


_scope: contextvars.ContextVar[Optional[_Scope]] = contextvars.ContextVar("iotmark_yang_memo", default=None)


def _path_names(expr: Any) -> Optional[set[str]]:
    """Local names the expression's name tests select, or None when its value may depend on the context node."""
    from yangson import xpathast as xp
    from yangson.enumerations import Axis

    if isinstance(expr, (xp.Literal, xp.Number, xp.Root)):
        return set()
    if isinstance(expr, xp.FilterExpr):
        return None if expr.predicates else _path_names(expr.primary)
    if isinstance(expr, xp.LocationPath):
        step = expr.right
        left = _path_names(expr.left)
        if (left is None or not isinstance(step, xp.Step) or step.predicates
                or step.axis not in (Axis.child, Axis.descendant) or not isinstance(step.qname, tuple)):
            return None
        return left | {step.qname[0]}
    if isinstance(expr, (xp.FuncDerivedFrom, xp.OrExpr, xp.AndExpr, xp.EqualityExpr)):
        left, right = _path_names(expr.left), _path_names(expr.right)
        return None if left is None or right is None else left | right
    if isinstance(expr, (xp.FuncNot, xp.FuncBoolean, xp.FuncCount)) and expr.expr is not None:
        return _path_names(expr.expr)
    return None  # anything else (relative paths, current(), position(), ...) is evaluated by yangson


def _starts_at_root(expr: Any) -> bool:
    """True when every location path in the expression begins at the document root."""
    from yangson import xpathast as xp

    if isinstance(expr, xp.LocationPath):
        return _starts_at_root(expr.left)
    if isinstance(expr, xp.Root):
        return True
    if isinstance(expr, xp.Step):
        return False
    children = [getattr(expr, name, None) for name in ("left", "right", "primary", "expr")]
    return all(_starts_at_root(child) for child in children if child is not None)


def document_constant(expr: Any, placeholder: Optional[str] = None) -> bool:
    """Whether `expr` has one value per document (and cannot see a placeholder member named `placeholder`)."""
    names = _path_names(expr)
    if names is None or not _starts_at_root(expr):
        return False
    return placeholder is None or placeholder.split(":")[-1] not in names


def _memoised_eval_when(pattern: Any, original: Any) -> Any:
    def eval_when(self: Any, cnode: Any) -> None:
        scope = _scope.get()
        if scope is None:
            original(cnode)
            return
        memo = scope.when
        key = id(self.when)
        if key not in memo:
            original(cnode)
            memo[key] = self._val_when
        else:
            self._val_when = memo[key]
            inner = getattr(self, "pattern", None)
            if inner is not None:
                inner._eval_when(cnode)
    return types.MethodType(eval_when, pattern)


_MISSING = object()
MAX_SHAPES_PER_NODE = 512


def _cached_pattern_check(node: Any, conditionals: list[Any]) -> Any:
    """A `_check_schema_pattern` for `node` that computes each distinct outcome once (same errors as yangson)."""
    from yangson.enumerations import ContentType
    from yangson.exceptions import SchemaError
    from yangson.schpattern import NotAllowed

    original = node._check_schema_pattern
    outcomes: OrderedDict[tuple[Any, ...], Optional[tuple[str, str]]] = OrderedDict()

    def outcome(names: tuple[str, ...], ctype: Any) -> Optional[tuple[str, str]]:
        pattern = node.schema_pattern
        for name in names:
            pattern = pattern.deriv(name, ctype)
            if isinstance(pattern, NotAllowed):
                return (("" if ctype == ContentType.all else ctype.name + " ") + "member-not-allowed", name)
        if not pattern.nullable(ctype):
            mandatory = pattern._mandatory_members(ctype)
            return ("missing-data", "expected " + ("one of " if len(mandatory) > 1 else "")
                    + ", ".join(repr(m) for m in mandatory))
        return None

    def check(self: Any, inst: Any, ctype: Any) -> None:
        scope = _scope.get()
        if scope is None:
            original(inst, ctype)
            return
        if conditionals:
            self.schema_pattern._eval_when(inst)
        names = tuple(inst)
        key = (names, ctype, tuple(bool(c._val_when) for c in conditionals))
        found = outcomes.get(key, _MISSING)
        if found is _MISSING:
            found = outcome(names, ctype)
            outcomes[key] = found
            if len(outcomes) > MAX_SHAPES_PER_NODE:
                outcomes.popitem(last=False)  # hostile input with endless shapes cannot grow memory
        if found is None:
            return
        if found[0] == "missing-data" and scope.deferred is not None:
            scope.deferred.append(SchemaError(inst, *found))  # members are checked on as if it were there
            return
        raise SchemaError(inst, *found)
    return types.MethodType(check, node)


def _patterns_of(node: Any) -> list[Any]:
    """Every sub-pattern of a schema node's pattern, each once."""
    seen: dict[int, Any] = {}
    stack = [node.schema_pattern]
    while stack:
        pattern = stack.pop()
        if id(pattern) not in seen:
            seen[id(pattern)] = pattern
            stack.extend(getattr(pattern, name) for name in ("left", "right", "pattern") if hasattr(pattern, name))
    return list(seen.values())


def install(schema: Any) -> int:
    """Install both memos on a yangson schema tree; returns how many `when` conditions are document-constant."""
    from yangson.schpattern import Conditional, Member

    schema._make_schema_patterns()
    installed = 0
    done: set[int] = set()
    nodes = [schema]
    while nodes:
        node = nodes.pop()
        nodes.extend(getattr(node, "children", []))
        if getattr(node, "schema_pattern", None) is None:
            continue
        conditionals = [p for p in _patterns_of(node) if isinstance(p, Conditional) and p.when is not None]
        for pattern in conditionals:
            placeholder = pattern.name if isinstance(pattern, Member) else None
            if id(pattern) not in done and document_constant(pattern.when, placeholder):
                pattern._eval_when = _memoised_eval_when(pattern, pattern._eval_when)
                installed += 1
            done.add(id(pattern))
        node._check_schema_pattern = _cached_pattern_check(node, conditionals)
    return installed


@contextlib.contextmanager
def document_scope(deferred: Optional[list[Any]] = None) -> Iterator[None]:
    """Within the scope the memos are active; use one scope per validated document.

    With a `deferred` list, a node missing mandatory members is appended to it (as a yangson SchemaError)
    instead of stopping validation, so the rest of the document is still checked.
    """
    token = _scope.set(_Scope(deferred=deferred))
    try:
        yield
    finally:
        _scope.reset(token)
