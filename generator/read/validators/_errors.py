"""What the compiled validators raise (the names and arguments of fastjsonschema's exceptions, which wrote them):
a refusal only says "not valid"; generator/read/schema.py asks jsonschema for the message."""

from __future__ import annotations

from typing import Any


class JsonSchemaValueException(ValueError):
    def __init__(
        self, message: str, value: Any = None, name: str | None = None, definition: Any = None, rule: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule


class JsonSchemaValuesException(ValueError):
    """Several errors at once (a validator compiled with fast_fail off; plato's stop at the first)."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        super().__init__(errors)
        self.errors = errors
