"""A small GraphQL reader for the ShipHero simulator: enough of the language for real client queries.

Parses one operation (``query Name($v: Type = default) { ... }``) into fields with aliases, arguments
(variables, strings, numbers, booleans, null, enums, lists, objects) and sub-selections, and renders a
result by walking a selection over plain dicts. Fragments and directives are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
TOKEN = re.compile(
    r'(?P<skip>[\s,]+|#[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<spread>\.\.\.)|(?P<punct>[{}()\[\]:$!=@])"
)


class GraphQLError(Exception):
    """A GraphQL error; ``extra`` holds ShipHero's additional keys (``code``, ``time_remaining``, ...)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: JSON = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


class Parser:
    def __init__(self, text: str, variables: JSON) -> None:
        self.tokens = self._tokenize(text)
        self.position = 0
        self.variables = variables

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            match = TOKEN.match(text, position)
            if match is None:
                raise GraphQLError(f"Syntax Error: Unexpected character {text[position]!r}")
            kind = match.lastgroup or ""
            if kind == "spread":
                raise GraphQLError("Fragments are not supported by this simulator")
            if kind != "skip":
                tokens.append((kind, match.group()))
            position = match.end()
        return tokens

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        if self.position >= len(self.tokens):
            raise GraphQLError("Syntax Error: Unexpected <EOF>")
        value = self.tokens[self.position][1]
        if expected is not None and value != expected:
            raise GraphQLError(f"Syntax Error: Expected {expected!r}, found {value!r}")
        self.position += 1
        return value

    def document(self) -> list[Field]:
        if self.peek() in ("query", "mutation", "subscription"):
            self.take()
            if self.peek() not in ("(", "{"):
                self.take()  # operation name
            if self.peek() == "(":
                self._variable_definitions()
        return self.selection_set()

    def _variable_definitions(self) -> None:
        self.take("(")
        while self.peek() != ")":
            self.take("$")
            name = self.take()
            self.take(":")
            while self.peek() not in ("$", ")", "="):
                self.take()  # the type, e.g. [String!]!
            if self.peek() == "=":
                self.take("=")
                self.variables.setdefault(name, self.value())
        self.take(")")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while self.peek() != "}":
            fields.append(self.field())
        self.take("}")
        return fields

    def field(self) -> Field:
        first = self.take()
        alias, name = (first, self._after_colon()) if self.peek() == ":" else (None, first)
        if self.peek() == "@":
            raise GraphQLError("Directives are not supported by this simulator")
        args = self.arguments() if self.peek() == "(" else {}
        selections = self.selection_set() if self.peek() == "{" else []
        return Field(name, alias, args, selections)

    def _after_colon(self) -> str:
        self.take(":")
        return self.take()

    def arguments(self) -> JSON:
        self.take("(")
        args: JSON = {}
        while self.peek() != ")":
            name = self.take()
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def value(self) -> Any:
        kind, text = self.tokens[self.position] if self.position < len(self.tokens) else ("", "")
        if text == "$":
            self.take()
            return self.variables.get(self.take())
        if text == "[":
            self.take()
            items = []
            while self.peek() != "]":
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            self.take()
            obj: JSON = {}
            while self.peek() != "}":
                key = self.take()
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.take()
        if kind == "string":
            return json.loads(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        return {"true": True, "false": False, "null": None}.get(text, text)


def parse(query: str, variables: JSON | None) -> list[Field]:
    return Parser(query, dict(variables or {})).document()


def render(value: Any, selections: list[Field], type_name: str, known: dict[str, frozenset[str]]) -> Any:
    """``value`` shaped by ``selections``; an unknown field is a GraphQL validation error."""
    if not selections or value is None:
        return value
    if isinstance(value, list):
        return [render(item, selections, type_name, known) for item in value]
    allowed = known.get(type_name)
    out: JSON = {}
    for selected in selections:
        if allowed is not None and selected.name not in allowed:
            raise GraphQLError(f"Cannot query field '{selected.name}' on type '{type_name}'.")
        child_type = f"{type_name}.{selected.name}"
        out[selected.key] = render(value.get(selected.name), selected.selections, child_type, known)
    return out
