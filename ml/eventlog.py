"""Event-log import: one normalisation path for CSV, XES and CRM rows.

Every source is turned into ``(line number, raw mapping)`` pairs and handed to the same
``_normalise`` / ``_assemble`` code, so a customer's own CRM history and a public log such as
BPI Challenge 2012 become the same neutral :class:`EventLog`.

Timestamps are stored as timezone-aware UTC datetimes. The source's UTC offset is kept beside
them (``utc_offset_min``) because the hour of day and weekday a thing happened are features of the
local wall clock, not of UTC. Naive timestamps are taken to be UTC (that is how core stores them).

Bad rows are an error by default: :class:`EventLogError` lists the offending line numbers.
With ``on_error="skip"`` they are left out and listed in ``EventLog.problems`` instead.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from xml.parsers import expat

OnError = Literal["raise", "skip"]

# canonical field -> accepted source names (first match wins); CSV headers and CRM row keys alike
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "case_id": ("case_id", "customer_id", "case"),
    "activity": ("activity", "type", "activity_type"),
    "timestamp": ("timestamp", "occurred_at", "time"),
    "lifecycle": ("lifecycle", "lifecycle_transition"),
    "resource": ("resource", "author_id", "user_id", "owner_id"),
    "amount": ("amount", "case_amount_req"),
    "node_index": ("node_index",),
    "direction": ("direction",),
}
REQUIRED_FIELDS = ("case_id", "activity", "timestamp")
DIRECTIONS = {"in": "in", "out": "out", "inbound": "in", "outbound": "out"}
_MAX_LISTED_LINES = 20


class EventLogError(ValueError):
    """Raised for unreadable sources or bad rows; ``problems`` holds ``(line, message)`` pairs."""

    def __init__(self, source: str, problems: list[tuple[int, str]]):
        self.source = source
        self.problems = problems
        lines = [str(line) for line, _ in problems[:_MAX_LISTED_LINES]]
        more = len(problems) - len(lines)
        detail = "; ".join(f"line {line}: {msg}" for line, msg in problems[:5])
        text = f"{source}: {len(problems)} bad row(s) at line(s) {', '.join(lines)}"
        if more > 0:
            text += f" and {more} more"
        super().__init__(f"{text} ({detail})")

    @property
    def lines(self) -> list[int]:
        return [line for line, _ in self.problems]


@dataclass(frozen=True, slots=True)
class Event:
    case_id: str
    activity: str
    timestamp: datetime  # timezone-aware, UTC
    lifecycle: str = ""
    resource: str = ""
    amount: float | None = None
    node_index: int | None = None
    direction: str = ""  # "", "in" or "out"
    utc_offset_min: int = 0  # offset of the source's wall clock, for hour/weekday features
    # seconds since the epoch, computed once here: feature encoding reads it for every event of
    # every scoring pass (and leave-one-out reasons rescore the same events dozens of times)
    epoch: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "epoch", self.timestamp.timestamp())

    @property
    def local_time(self) -> datetime:
        """Wall-clock time at the source (naive arithmetic on the UTC value plus the offset)."""
        return self.timestamp + timedelta(minutes=self.utc_offset_min)


@dataclass(slots=True)
class Case:
    case_id: str
    events: list[Event]  # sorted by timestamp; ties keep source order

    def __len__(self) -> int:
        return len(self.events)

    @property
    def start(self) -> datetime:
        return self.events[0].timestamp

    @property
    def end(self) -> datetime:
        return self.events[-1].timestamp

    def head(self, n: int) -> Case:
        return Case(self.case_id, self.events[:n])


@dataclass
class EventLog:
    cases: list[Case]  # sorted by start time; no empty cases
    source: str = ""
    problems: list[tuple[int, str]] = field(default_factory=list)  # rows skipped with on_error="skip"

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    @property
    def n_events(self) -> int:
        return sum(len(c) for c in self.cases)

    @property
    def case_ids(self) -> list[str]:
        return [c.case_id for c in self.cases]

    def by_id(self) -> dict[str, Case]:
        return {c.case_id: c for c in self.cases}

    def select(self, case_ids: Iterable[str]) -> EventLog:
        wanted = set(case_ids)
        return EventLog([c for c in self.cases if c.case_id in wanted], self.source)

    def with_cases(self, cases: Iterable[Case]) -> EventLog:
        """A new log from (possibly truncated) cases; empty ones are dropped."""
        kept = [c for c in cases if len(c)]
        kept.sort(key=lambda c: c.start)
        return EventLog(kept, self.source)


# ----------------------------------------------------------------------------- normalisation
class _BadRow(ValueError):
    pass


def parse_timestamp(value: Any) -> tuple[datetime, int]:
    """Return (UTC datetime, source UTC offset in minutes). Naive values are UTC."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise _BadRow("empty timestamp")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise _BadRow(f"bad timestamp {text[:40]!r}") from None
    else:
        raise _BadRow(f"bad timestamp {value!r}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc), 0
    offset = dt.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return dt.astimezone(timezone.utc), minutes


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _optional_float(value: Any, name: str) -> float | None:
    text = _text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise _BadRow(f"bad {name} {text[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _BadRow(f"bad {name} {text[:40]!r}")
    return number


def _optional_int(value: Any, name: str) -> int | None:
    number = _optional_float(value, name)
    if number is None:
        return None
    if number != int(number):
        raise _BadRow(f"bad {name} {value!r}")
    return int(number)


def _pick(raw: Mapping[str, Any], name: str, field_map: Mapping[str, str] | None) -> Any:
    if field_map and name in field_map:
        return raw.get(field_map[name])
    for alias in FIELD_ALIASES[name]:
        if alias in raw:
            return raw[alias]
    return None


def _normalise(
    raw: Mapping[str, Any],
    field_map: Mapping[str, str] | None = None,
    node_order: Mapping[str, int] | None = None,
) -> Event:
    case_id = _text(_pick(raw, "case_id", field_map))
    if not case_id:
        raise _BadRow("missing case id")
    activity = _text(_pick(raw, "activity", field_map))
    if not activity:
        raise _BadRow("missing activity")
    timestamp, offset = parse_timestamp(_pick(raw, "timestamp", field_map))
    direction = _text(_pick(raw, "direction", field_map)).lower()
    if direction and direction not in DIRECTIONS:
        raise _BadRow(f"bad direction {direction[:20]!r} (in or out)")
    direction = DIRECTIONS.get(direction, "")
    node_index = _pick(raw, "node_index", field_map)
    if node_index is None and node_order is not None:
        key = _text(raw.get("node_key"))
        if key:
            if key not in node_order:
                raise _BadRow(f"unknown node key {key[:40]!r}")
            node_index = node_order[key]
    return Event(
        case_id=case_id,
        activity=activity,
        timestamp=timestamp,
        lifecycle=_text(_pick(raw, "lifecycle", field_map)).upper(),
        resource=_text(_pick(raw, "resource", field_map)),
        amount=_optional_float(_pick(raw, "amount", field_map), "amount"),
        node_index=_optional_int(node_index, "node_index"),
        direction=direction,
        utc_offset_min=offset,
    )


def _assemble(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    source: str,
    on_error: OnError,
    field_map: Mapping[str, str] | None = None,
    node_order: Mapping[str, int] | None = None,
) -> EventLog:
    """The single path every reader goes through."""
    if on_error not in ("raise", "skip"):
        raise ValueError("on_error must be 'raise' or 'skip'")
    grouped: dict[str, list[Event]] = {}
    problems: list[tuple[int, str]] = []
    for line, raw in records:
        try:
            event = _normalise(raw, field_map, node_order)
        except _BadRow as exc:
            problems.append((line, str(exc)))
            continue
        grouped.setdefault(event.case_id, []).append(event)
    if problems and on_error == "raise":
        raise EventLogError(source, problems)
    cases = []
    for case_id, events in grouped.items():
        events.sort(key=lambda e: e.timestamp)  # stable: simultaneous events keep source order
        cases.append(Case(case_id, events))
    cases = [c for c in cases if len(c)]
    cases.sort(key=lambda c: c.start)
    return EventLog(cases, source, problems)


# ----------------------------------------------------------------------------- readers
def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _open_binary(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _csv_records(path: Path, required: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise EventLogError(str(path), [(1, f"missing column(s) {', '.join(missing)}")])
        try:
            for row in reader:
                yield reader.line_num, row
        except csv.Error as exc:
            raise EventLogError(str(path), [(reader.line_num, f"CSV error: {exc}")]) from None


def read_csv(path: str | os.PathLike, *, on_error: OnError = "raise") -> EventLog:
    """CSV or CSV.gz with columns case_id, activity, timestamp and optional lifecycle, resource,
    case_amount_req (or amount), node_index, direction. Other columns are ignored."""
    path = Path(path)
    return _assemble(_csv_records(path, REQUIRED_FIELDS), str(path), on_error)


def from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    field_map: Mapping[str, str] | None = None,
    node_order: Mapping[str, int] | None = None,
    on_error: OnError = "raise",
    source: str = "rows",
) -> EventLog:
    """Build a log from plain mappings, e.g. CRM activity rows.

    Keys are matched by :data:`FIELD_ALIASES`, so a core ``Activity`` row as a dict works as-is:
    ``customer_id`` -> case, ``type`` -> activity, ``occurred_at`` (datetime, naive = UTC) ->
    timestamp, ``author_id`` -> resource, ``direction`` (in/out), ``amount`` (Decimal ok),
    ``node_index`` — or ``node_key`` translated through ``node_order`` (key -> playbook position).
    ``field_map`` maps a canonical field to a different key, e.g. ``{"activity": "kind"}``.
    Line numbers in errors are 1-based row indexes.
    """
    records = ((i, row) for i, row in enumerate(rows, start=1))
    return _assemble(records, source, on_error, field_map, node_order)


# XES: direct children of <trace>/<event> that carry a key and a value
_XES_ATTRIBUTE_TAGS = {"string", "date", "int", "float", "boolean", "id"}
_XES_EVENT_KEYS = {
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "lifecycle:transition": "lifecycle",
    "org:resource": "resource",
    "amount": "amount",
    "node_index": "node_index",
    "direction": "direction",
}
_XES_TRACE_KEYS = {
    "concept:name": "case_id",
    "AMOUNT_REQ": "amount",
    "amount": "amount",
    "case:amount_req": "amount",
}


class _XesHandler:
    """Streaming expat handler: collects (line, raw event mapping) pairs."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.trace: dict[str, str] = {}
        self.trace_events: list[tuple[int, dict[str, str]]] = []
        self.event: dict[str, str] | None = None
        self.event_line = 0
        self.out: list[tuple[int, dict[str, str]]] = []
        self.parser: Any = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        parent = self.stack[-1] if self.stack else ""
        self.stack.append(tag)
        if tag == "trace" and parent == "log":
            self.trace, self.trace_events = {}, []
        elif tag == "event" and parent == "trace":
            self.event, self.event_line = {}, self.parser.CurrentLineNumber
        elif tag in _XES_ATTRIBUTE_TAGS and "key" in attrs:
            key, value = attrs["key"], attrs.get("value", "")
            if parent == "event" and self.event is not None and key in _XES_EVENT_KEYS:
                self.event[_XES_EVENT_KEYS[key]] = value
            elif parent == "trace" and key in _XES_TRACE_KEYS:
                self.trace.setdefault(_XES_TRACE_KEYS[key], value)

    def end(self, tag: str) -> None:
        tag = self.stack.pop()
        if tag == "event" and self.event is not None and self.stack and self.stack[-1] == "trace":
            self.trace_events.append((self.event_line, self.event))
            self.event = None
        elif tag == "trace" and self.stack and self.stack[-1] == "log":
            case_id = self.trace.get("case_id", "")
            for line, raw in self.trace_events:
                raw["case_id"] = case_id
                if "amount" not in raw and "amount" in self.trace:
                    raw["amount"] = self.trace["amount"]
                self.out.append((line, raw))
            self.trace_events = []


def _refuse_entities(*_args: Any) -> None:
    raise EventLogError("xml", [(0, "XML entity declarations are not allowed")])


def _xes_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    handler = _XesHandler()
    parser = expat.ParserCreate()
    handler.parser = parser
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    # Entities off: any entity declaration (internal or external) is refused outright, so nothing
    # is ever expanded (no billion laughs, no external fetch); a stray reference is a parse error.
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = lambda *a: 0
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    with _open_binary(path) as handle:
        try:
            while chunk := handle.read(1 << 20):
                parser.Parse(chunk, False)
                yield from handler.out
                handler.out = []
            parser.Parse(b"", True)
        except EventLogError as exc:
            raise EventLogError(str(path), [(parser.CurrentLineNumber, exc.problems[0][1])]) from None
        except expat.ExpatError as exc:
            raise EventLogError(str(path), [(exc.lineno, f"XML error: {expat.errors.messages[exc.code]}")]) from None
        except (OSError, EOFError) as exc:
            raise EventLogError(str(path), [(0, f"cannot read: {exc}")]) from None
    yield from handler.out


def read_xes(path: str | os.PathLike, *, on_error: OnError = "raise") -> EventLog:
    """XES or XES.gz, streamed with expat (the parser under xml.etree) with entities refused.

    Case id: trace ``concept:name``; activity: event ``concept:name``; ``lifecycle:transition``,
    ``org:resource``, ``time:timestamp``; amount from trace ``AMOUNT_REQ``/``amount`` or event
    ``amount``. Line numbers point at the ``<event>`` element.
    """
    path = Path(path)
    return _assemble(_xes_records(path), str(path), on_error)


def read_event_log(path: str | os.PathLike, *, on_error: OnError = "raise") -> EventLog:
    """Dispatch on the file name: ``.xes``/``.xes.gz`` or ``.csv``/``.csv.gz``."""
    name = Path(path).name.lower()
    if name.endswith((".xes", ".xes.gz")):
        return read_xes(path, on_error=on_error)
    if name.endswith((".csv", ".csv.gz")):
        return read_csv(path, on_error=on_error)
    raise EventLogError(str(path), [(0, "unknown format (expected .csv, .csv.gz, .xes or .xes.gz)")])


_TRUE = {"1", "1.0", "true", "yes", "y", "t"}
_FALSE = {"0", "0.0", "false", "no", "n", "f"}


def read_labels(path: str | os.PathLike, label_column: str = "label") -> dict[str, int]:
    """``{case_id: 0|1}`` from CSV(.gz) with ``case_id`` and ``label_column``.

    Rows with an empty label are left out; any other non-boolean value is an error (line listed).
    """
    path = Path(path)
    labels: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    for line, row in _csv_records(path, ("case_id", label_column)):
        case_id = _text(row.get("case_id"))
        value = _text(row.get(label_column)).lower()
        if not value:
            continue
        if not case_id:
            problems.append((line, "missing case id"))
        elif value in _TRUE:
            labels[case_id] = 1
        elif value in _FALSE:
            labels[case_id] = 0
        else:
            problems.append((line, f"bad label {value[:20]!r}"))
    if problems:
        raise EventLogError(str(path), problems)
    return labels
