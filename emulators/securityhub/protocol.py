"""Security Hub's REST-JSON protocol, driven by botocore's own service model.

Routes (method + requestUri), where each member is read from (uri, querystring, header, body), the
validation constraints (required, min/max, enum, pattern, types) and the error shapes (HTTP status)
all come from botocore's service-2.json for securityhub, so the emulator accepts exactly what the
AWS SDKs send and answers in the shape they parse.
"""

import json
import re
from urllib.parse import parse_qs, unquote

import botocore.session

_MODEL = botocore.session.get_session().get_service_model("securityhub")


class ApiError(Exception):
    """An AWS error: code (an error shape of the model), message; the HTTP status comes from the model."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self):
        try:
            return _MODEL.shape_for(self.code).metadata["error"]["httpStatusCode"]
        except Exception:  # an error code the model does not list
            return {"ThrottlingException": 429, "InternalServerException": 500}.get(self.code, 400)

    def body(self):
        return {"Code": self.code, "Message": self.message, "message": self.message, "__type": self.code}


def validation_code(op):
    """The error code this operation answers invalid input with: V2 operations use ValidationException."""
    names = [e.name for e in _MODEL.operation_model(op).error_shapes]
    return "ValidationException" if "ValidationException" in names else "InvalidInputException"


def _route_regex(uri):
    path = uri.split("?")[0]
    names = []

    def repl(m):
        name = m.group(1).replace("\\", "")
        names.append(name.rstrip("+"))
        return "(.+)" if name.endswith("+") else "([^/]+)"

    rx = re.sub(r"\\\{([^}]+)\\\}", repl, re.escape(path))
    return re.compile("^" + rx + "$"), names


_ROUTES = []
for _name in _MODEL.operation_names:
    _om = _MODEL.operation_model(_name)
    _rx, _names = _route_regex(_om.http["requestUri"])
    _ROUTES.append((_om.http["method"], _rx, _names, _name))
# literal routes first: /automationrulesv2/list before /automationrulesv2/{Identifier}
_ROUTES.sort(key=lambda r: (len(r[2]), -len(r[1].pattern)))


def route(method, raw_path):
    """(operation name, uri params) for a request, or None."""
    for m, rx, names, op in _ROUTES:
        if m != method:
            continue
        match = rx.match(raw_path)
        if match:
            return op, {n: unquote(v) for n, v in zip(names, match.groups())}
    return None


def _convert(shape, text):
    if shape.type_name in ("integer", "long"):
        return int(text)
    if shape.type_name in ("float", "double"):
        return float(text)
    if shape.type_name == "boolean":
        return text.lower() == "true"
    return text


def parse(op, uri_params, query, headers, body):
    """The operation's input as a dict of member → value, from every location the model names."""
    om = _MODEL.operation_model(op)
    params = {}
    if body:
        try:
            params = json.loads(body)
        except ValueError:
            raise ApiError(validation_code(op), "The request body is not valid JSON")
        if not isinstance(params, dict):
            raise ApiError(validation_code(op), "The request body must be a JSON object")
    shape = om.input_shape
    if shape is None:
        return {}
    qs = parse_qs(query, keep_blank_values=True)
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        try:
            if loc == "uri" and wire in uri_params:
                params[name] = _convert(member, uri_params[wire])
            elif loc == "querystring" and wire in qs:
                vals = qs[wire]
                params[name] = vals if member.type_name == "list" else _convert(member, vals[0])
            elif loc == "header" and headers.get(wire) is not None:
                params[name] = _convert(member, headers.get(wire))
        except ValueError:
            raise ApiError(validation_code(op), f"{name} has an invalid value")
    return params


_TYPES = {
    "string": str,
    "integer": int,
    "long": int,
    "float": (int, float),
    "double": (int, float),
    "boolean": bool,
    "timestamp": (str, int, float),
    "structure": dict,
    "map": dict,
    "list": list,
}


def validate(op, params):
    """Raise the operation's validation error for the first constraint of the model a value breaks."""
    shape = _MODEL.operation_model(op).input_shape
    if shape is None:
        return
    problem = _check(shape, params, "")
    if problem:
        raise ApiError(validation_code(op), problem)


def _check(shape, value, path):
    where = path or "request"
    want = _TYPES.get(shape.type_name)
    if want and (not isinstance(value, want) or (shape.type_name in ("integer", "long") and isinstance(value, bool))):
        return f"{where} must be of type {shape.type_name}"
    meta = shape.metadata
    if shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            allowed = ", ".join(shape.enum) if len(shape.enum) <= 12 else f"the {len(shape.enum)} values AWS documents"
            return f"{where} must be one of {allowed} (got {value!r})"
        if "min" in meta and len(value) < meta["min"]:
            return f"{where} must be at least {meta['min']} characters long"
        if "max" in meta and len(value) > meta["max"]:
            return f"{where} must be at most {meta['max']} characters long"
        if "pattern" in meta:
            try:
                ok = re.search(meta["pattern"], value, re.DOTALL) is not None
            except re.error:
                ok = True
            if not ok:
                return f"{where} must match the pattern {meta['pattern']}"
    elif shape.type_name in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            return f"{where} must be at least {meta['min']}"
        if "max" in meta and value > meta["max"]:
            return f"{where} must be at most {meta['max']}"
    elif shape.type_name in ("list", "map"):
        if "min" in meta and len(value) < meta["min"]:
            return f"{where} must have at least {meta['min']} items"
        if "max" in meta and len(value) > meta["max"]:
            return f"{where} must have at most {meta['max']} items"
        if shape.type_name == "list":
            for i, item in enumerate(value):
                problem = _check(shape.member, item, f"{where}[{i}]")
                if problem:
                    return problem
        else:
            for k, v in value.items():
                problem = _check(shape.key, k, f"{where} key {k!r}") or _check(shape.value, v, f"{where}.{k}")
                if problem:
                    return problem
    elif shape.type_name == "structure":
        for req in shape.required_members:
            if value.get(req) is None:
                return f"{(path + '.' if path else '')}{req} is required"
        if meta.get("union") and len([v for v in value.values() if v is not None]) != 1:
            return f"{where} must set exactly one member"
        for name, v in value.items():
            if name in shape.members and v is not None:
                problem = _check(shape.members[name], v, f"{path + '.' if path else ''}{name}")
                if problem:
                    return problem
    return None


def check_shape(shape_name, value, path):
    """The first constraint of the model's `shape_name` that `value` breaks, or None."""
    return _check(_MODEL.shape_for(shape_name), value, path)
