"""The domain types of the read stage: small, frozen, named after Score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, dataclass_transform

from generator.read.placeholders import Template

# The JSON schema (schemas/workload.schema.json) validates a spec, with file:line messages; these models are then
# built from the validated data. They are frozen dataclasses, which need no import-time work: importing pydantic
# and building its validators costs a CI publish 0.1-0.2 s for nothing, since the schema has already checked the
# data. pydantic still validates them, in tests/read/test_models.py (pydantic validates standard dataclasses, with
# this config), so that the models and the schema cannot drift apart unnoticed.
PYDANTIC_CONFIG = {"arbitrary_types_allowed": True, "extra": "forbid"}
T = TypeVar("T")


@dataclass_transform(frozen_default=True, kw_only_default=True, field_specifiers=(field,))
def model(cls: type[T]) -> type[T]:
    """A frozen dataclass with keyword-only fields, which pydantic validates with PYDANTIC_CONFIG (in tests)."""
    cls.__pydantic_config__ = PYDANTIC_CONFIG  # type: ignore[attr-defined]
    return dataclass(frozen=True, kw_only=True)(cls)


class Where:
    """Where a value was written, for messages in later stages. The line is looked up only when a message needs
    it (specs are parsed by the C loader; positions come from a second, round-trip parse on demand)."""

    __slots__ = ("_doc", "_loc", "_pos", "file")

    def __init__(
        self,
        file: str,
        line: int | None = None,
        col: int | None = None,
        doc: Any = None,
        loc: tuple[str | int, ...] = (),
    ) -> None:
        self.file = file
        self._doc, self._loc = doc, loc
        self._pos: tuple[int | None, int | None] | None = (line, col) if doc is None else None

    def _resolve(self) -> tuple[int | None, int | None]:
        if self._pos is None:
            self._pos = self._doc.where(self._loc)
        return self._pos

    @property
    def line(self) -> int | None:
        return self._resolve()[0]

    @property
    def col(self) -> int | None:
        return self._resolve()[1]

    def __repr__(self) -> str:
        return f"Where({self.file!r}, {self.line})"


@model
class File:
    target: str
    mode: str | None = None
    content: Template | None = None  # text, parsed unless no_expand
    text: str | None = None  # text kept verbatim (noExpand)
    binary: str | None = None  # base64
    no_expand: bool = False
    source: str | None = None  # as written, for messages
    missing_source: str | None = None  # set when `source` could not be read (error at render time)
    where: Where


@model
class Volume:
    target: str
    source: Template
    path: str | None = None
    read_only: bool = False
    where: Where


@model
class Container:
    name: str
    image: str
    command: tuple[Template, ...] | None = None
    args: tuple[Template, ...] | None = None
    variables: tuple[tuple[str, Template], ...] = ()
    files: tuple[File, ...] = ()
    volumes: tuple[Volume, ...] = ()
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    liveness_probe: dict[str, Any] | None = None
    readiness_probe: dict[str, Any] | None = None
    before: dict[str, Literal["started", "complete"]] = field(default_factory=dict)
    where: Where
    # "variables.NAME", "command.0", "args.1" -> where, for messages
    lines: dict[str, Where] = field(default_factory=dict)


@model
class ServicePort:
    name: str
    port: int
    target_port: int
    protocol: Literal["TCP", "UDP"] = "TCP"


@model
class ResourceRequest:
    """A dependency a workload declares: type, class, id, params (with placeholders parsed)."""

    name: str
    type: str
    class_: str = "default"
    id: str | None = None
    # values may be Template where a string held a placeholder
    params: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    where: Where


@model
class Workload:
    name: str
    metadata: dict[str, Any]
    annotations: dict[str, str] = field(default_factory=dict)
    containers: tuple[Container, ...]
    ports: tuple[ServicePort, ...] = ()
    resources: tuple[ResourceRequest, ...] = ()
    where: Where
    raw: dict[str, Any]  # the spec as written (sources inlined): recorded so a later rule change can re-render

    def resource(self, name: str) -> ResourceRequest | None:
        return next((r for r in self.resources if r.name == name), None)
