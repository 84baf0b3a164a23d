"""The domain types of the read stage: small, frozen, named after Score."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from generator.read.placeholders import Template


class Frozen(BaseModel):
    # The JSON schema (schemas/workload.schema.json) validates a spec, with file:line messages; these models are
    # then built from the validated data with model_construct. Building pydantic's validators for every model at
    # import costs about 170 ms of the 0.6 s a CI publish may take, so it is deferred (tests/read checks that
    # model_validate agrees with the schema on every conformance file).
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid", defer_build=True)


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


class File(Frozen):
    target: str
    mode: str | None = None
    content: Template | None = None  # text, parsed unless no_expand
    text: str | None = None  # text kept verbatim (noExpand)
    binary: str | None = None  # base64
    no_expand: bool = False
    source: str | None = None  # as written, for messages
    missing_source: str | None = None  # set when `source` could not be read (error at render time)
    where: Where


class Volume(Frozen):
    target: str
    source: Template
    path: str | None = None
    read_only: bool = False
    where: Where


class Container(Frozen):
    name: str
    image: str
    command: tuple[Template, ...] | None = None
    args: tuple[Template, ...] | None = None
    variables: tuple[tuple[str, Template], ...] = ()
    files: tuple[File, ...] = ()
    volumes: tuple[Volume, ...] = ()
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    liveness_probe: dict[str, Any] | None = None
    readiness_probe: dict[str, Any] | None = None
    before: dict[str, Literal["started", "complete"]] = {}
    where: Where
    lines: dict[str, Where] = {}  # "variables.NAME", "command.0", "args.1" -> where, for messages


class ServicePort(Frozen):
    name: str
    port: int
    target_port: int
    protocol: Literal["TCP", "UDP"] = "TCP"


class ResourceRequest(Frozen):
    """A dependency a workload declares: type, class, id, params (with placeholders parsed)."""

    name: str
    type: str
    class_: str = "default"
    id: str | None = None
    params: dict[str, Any] = {}  # values may be Template where a string held a placeholder
    metadata: dict[str, Any] = {}
    where: Where


class Workload(Frozen):
    name: str
    metadata: dict[str, Any]
    annotations: dict[str, str] = {}
    containers: tuple[Container, ...]
    ports: tuple[ServicePort, ...] = ()
    resources: tuple[ResourceRequest, ...] = ()
    where: Where
    raw: dict[str, Any]  # the spec as written (sources inlined): recorded so a later rule change can re-render

    def resource(self, name: str) -> ResourceRequest | None:
        return next((r for r in self.resources if r.name == name), None)
