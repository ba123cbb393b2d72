"""HTML forms made from the domain's pydantic models, and the models made from the forms.

Each action's fields are its model in ``domain/steps.py`` (or ``domain/project_steps.py``,
or the intake in ``domain/models.py``): the console adds no rule of its own. It only turns
text boxes into the values the model validates (a local date-time into an aware one, lines
into lists) and the model's errors into messages next to the fields.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ValidationError

from api.console.i18n import Translator

GENERAL = "__all__"  # errors of the model as a whole (its model validators)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    widget: str  # text, textarea, select, checkbox, datetime, date, time, number, lines, tags, rows, json
    required: bool
    choices: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()  # for "rows": the item model's fields, comma-separated per line
    default: str = ""


@dataclass
class FormState:
    """What a re-rendered form shows: the values typed and the errors per field."""

    values: dict[str, str | list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)


def _unwrap(annotation):
    """``X | None`` → ``X``; ``Annotated[X, …]`` → ``X``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _is(annotation, kind) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, kind)


def _widget(annotation, max_length: int | None) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    ann = _unwrap(annotation)
    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return "select", tuple(str(a) for a in typing.get_args(ann)), ()
    if _is(ann, Enum):
        return "select", tuple(str(e.value) for e in ann), ()
    if ann is bool:
        return "checkbox", (), ()
    if ann is AwareDatetime or _is(ann, datetime):  # pydantic's AwareDatetime is no datetime subclass
        return "datetime", (), ()
    if _is(ann, date):
        return "date", (), ()
    if _is(ann, time):
        return "time", (), ()
    if _is(ann, (int, float, Decimal)):
        return "number", (), ()
    if origin is list:
        item = _unwrap(typing.get_args(ann)[0])
        if _is(item, BaseModel):
            flat = all(typing.get_origin(_unwrap(f.annotation)) is not list and not _is(_unwrap(f.annotation), BaseModel)
                       for f in item.model_fields.values())
            # One line per item, its fields comma-separated; nested lists are JSON.
            return ("rows", (), tuple(item.model_fields)) if flat else ("json", (), ())
        return "lines", (), ()
    if _is(ann, BaseModel) or origin is dict:
        return "json", (), ()
    return ("textarea" if (max_length or 0) > 300 else "text"), (), ()


def _max_length(info) -> int | None:
    return next((m.max_length for m in info.metadata if getattr(m, "max_length", None)), None)


def fields_of(model: type[BaseModel], *, without: tuple[str, ...] = ()) -> list[FieldSpec]:
    specs = []
    for name, info in model.model_fields.items():
        if name in without:
            continue
        widget, choices, columns = _widget(info.annotation, _max_length(info))
        default = info.default
        if isinstance(default, time):
            shown = default.strftime("%H:%M")
        else:
            shown = "" if default is None or isinstance(default, (list, dict)) or not isinstance(default, (str, int, Decimal, Enum)) else str(getattr(default, "value", default))
        specs.append(FieldSpec(name, widget, info.is_required(), choices, columns, shown))
    return specs


def as_tags(specs: list[FieldSpec], *names: str) -> list[FieldSpec]:
    """The named list fields typed as one comma-separated line (skills, districts, days)
    instead of one item per line."""
    return [replace(s, widget="tags") if s.name in names else s for s in specs]


def _text(value) -> str:
    return value[-1] if isinstance(value, list) else (value or "")


def to_data(specs: list[FieldSpec], form: dict, zone: ZoneInfo) -> tuple[dict, dict[str, list[str]]]:
    """The form's text as the model's input. Empty optional fields are left out so that the
    model's defaults apply; a required one left empty is reported missing by the model."""
    data: dict = {}
    errors: dict[str, list[str]] = {}
    for spec in specs:
        if spec.widget == "checkbox":
            data[spec.name] = spec.name in form
            continue
        raw = _text(form.get(spec.name)).strip()
        if not raw:
            continue
        if spec.widget == "datetime":
            try:
                moment = datetime.fromisoformat(raw)
                data[spec.name] = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).isoformat()
            except ValueError:
                data[spec.name] = raw  # the model names the error
        elif spec.widget == "lines":
            data[spec.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif spec.widget == "tags":
            data[spec.name] = [tag.strip() for tag in re.split(r"[,，、;；\n]", raw) if tag.strip()]
        elif spec.widget == "rows":
            rows = []
            for line in filter(None, (ln.strip() for ln in raw.splitlines())):
                cells = [c.strip() for c in line.replace("，", ",").split(",")]
                rows.append(dict(zip(spec.columns, cells, strict=False)))
            data[spec.name] = rows
        elif spec.widget == "json":
            try:
                data[spec.name] = json.loads(raw)
            except (ValueError, RecursionError):  # nested too deep ("[[[[…") is no ValueError
                errors[spec.name] = ["error.json"]
        else:
            data[spec.name] = raw
    return data, errors


def parse(model: type[BaseModel], specs: list[FieldSpec], form: dict, zone: ZoneInfo, t: Translator, **fixed):
    """The model built from the form, or the form's values and its errors to show again."""
    data, own = to_data(specs, form, zone)
    state = FormState(values={s.name: form.get(s.name, "") for s in specs})
    state.errors = {name: [t(key) for key in keys] for name, keys in own.items()}
    if state.errors:
        return None, state
    try:
        # "now" for the bounds a model judges against the present (an intake's reported_at).
        return model.model_validate({**data, **fixed}, context={"now": datetime.now(UTC)}), state
    except ValidationError as exc:
        names = {s.name for s in specs}
        for err in exc.errors(include_url=False):
            loc = err.get("loc") or ()
            where = loc[0] if loc and loc[0] in names else GENERAL
            state.errors.setdefault(str(where), []).append(error_text(err, t))
        return None, state


def error_text(err: dict, t: Translator) -> str:
    """A validation error in the reader's language: the known kinds from the locale file,
    a domain validator's own message (``ValueError``) through the locale's message table."""
    kind = err.get("type", "")
    if kind == "value_error":
        return t.message(str(err.get("msg", "")).removeprefix("Value error, "))
    key = f"error.{kind}"
    if t.has(key):
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, (str, int, float, Decimal))}
        try:
            return t(key, **ctx)
        except (KeyError, IndexError):
            return t(key)
    return str(err.get("msg", kind))
