"""Finding filters: GetFindings' AwsSecurityFindingFilters over ASFF findings and GetFindingsV2's
OcsfFindingFilters over OCSF findings (also the criteria of automation rules)."""

from datetime import datetime, timedelta, timezone


def values(doc, path):
    """Every leaf value at dotted `path` in `doc`, walking through lists."""
    out = [doc]
    for part in path.split("."):
        nxt = []
        for v in out:
            if isinstance(v, list):
                v = [x.get(part) for x in v if isinstance(x, dict)]
                nxt.extend(x for x in v if x is not None)
            elif isinstance(v, dict) and v.get(part) is not None:
                nxt.append(v[part])
        out = nxt
    flat = []
    for v in out:
        flat.extend(v if isinstance(v, list) else [v])
    return flat


_NEGATIVE = ("NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS")


def _string_ok(value, comparison, wanted):
    value = str(value)
    return {
        "EQUALS": value == wanted,
        "NOT_EQUALS": value != wanted,
        "PREFIX": value.startswith(wanted),
        "PREFIX_NOT_EQUALS": not value.startswith(wanted),
        "CONTAINS": wanted in value,
        "NOT_CONTAINS": wanted not in value,
        "CONTAINS_WORD": wanted in value.replace("-", " ").replace("_", " ").split(),
    }.get(comparison, False)


def string_match(vals, flt):
    comparison, wanted = flt.get("Comparison", "EQUALS"), flt.get("Value", "")
    if comparison in _NEGATIVE:
        return all(_string_ok(v, comparison, wanted) for v in vals)
    return any(_string_ok(v, comparison, wanted) for v in vals)


def number_match(vals, flt):
    def ok(v):
        try:
            v = float(v)
        except (TypeError, ValueError):
            return False
        checks = [("Eq", v.__eq__), ("Gte", v.__ge__), ("Lte", v.__le__), ("Gt", v.__gt__), ("Lt", v.__lt__)]
        return all(f(float(flt[k])) for k, f in checks if flt.get(k) is not None)

    return any(ok(v) for v in vals)


def _as_time(v):
    if isinstance(v, (int, float)):
        return datetime.fromtimestamp(v / 1000 if v > 1e11 else v, timezone.utc)
    try:
        return datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return None


def date_match(vals, flt):
    start, end = flt.get("Start"), flt.get("End")
    rng = flt.get("DateRange")
    lo = _as_time(start) if start else None
    hi = _as_time(end) if end else None
    if rng:
        lo = datetime.now(timezone.utc) - timedelta(days=rng.get("Value", 0))
        hi = None
    for v in vals:
        t = _as_time(v)
        if t is None:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        if (lo is None or t >= lo) and (hi is None or t <= hi):
            return True
    return False


def map_match(maps, flt):
    comparison = flt.get("Comparison", "EQUALS")
    got = [m.get(flt.get("Key")) for m in maps if isinstance(m, dict)]
    wanted = flt.get("Value")
    if comparison == "EQUALS":
        return wanted in got
    if comparison == "NOT_EQUALS":
        return wanted not in got
    if comparison == "CONTAINS":
        return any(g is not None and wanted in g for g in got)
    if comparison == "NOT_CONTAINS":
        return all(g is None or wanted not in g for g in got)
    return False


# ---- ASFF (GetFindings, automation rule criteria) ----

ASFF_FIELDS = {
    "Type": "Types",
    "SeverityLabel": "Severity.Label",
    "SeverityNormalized": "Severity.Normalized",
    "SeverityProduct": "Severity.Product",
    "WorkflowStatus": "Workflow.Status",
    "ComplianceStatus": "Compliance.Status",
    "ComplianceSecurityControlId": "Compliance.SecurityControlId",
    "ComplianceAssociatedStandardsId": "Compliance.AssociatedStandards.StandardsId",
    "ResourceId": "Resources.Id",
    "ResourceType": "Resources.Type",
    "ResourceRegion": "Resources.Region",
    "ResourcePartition": "Resources.Partition",
    "ResourceTags": "Resources.Tags",
    "NoteText": "Note.Text",
    "NoteUpdatedBy": "Note.UpdatedBy",
    "NoteUpdatedAt": "Note.UpdatedAt",
    "RecommendationText": "Remediation.Recommendation.Text",
}


def asff_match(finding, filters):
    """AWS's rule: filters on one attribute are ORed (the negative ones ANDed), attributes are ANDed."""
    for field, flts in (filters or {}).items():
        if not flts:
            continue
        vals = values(finding, ASFF_FIELDS.get(field, field))
        first = flts[0]
        if "Comparison" in first and "Key" in first:
            if not all(map_match(vals, f) for f in flts):
                return False
        elif "Comparison" in first or ("Value" in first and isinstance(first.get("Value"), str)):
            pos = [f for f in flts if f.get("Comparison", "EQUALS") not in _NEGATIVE]
            neg = [f for f in flts if f.get("Comparison") in _NEGATIVE]
            if pos and not any(string_match(vals, f) for f in pos):
                return False
            if not all(string_match(vals, f) for f in neg):
                return False
        elif any(k in first for k in ("Start", "End", "DateRange")):
            if not any(date_match(vals, f) for f in flts):
                return False
        elif "Value" in first and isinstance(first["Value"], bool):
            if not any(v == f["Value"] for f in flts for v in vals):
                return False
        elif not any(number_match(vals, f) for f in flts):
            return False
    return True


# ---- OCSF (GetFindingsV2, V2 automation rule criteria) ----


def _one(finding, kind, flt):
    vals = values(finding, flt.get("FieldName", ""))
    f = flt.get("Filter", {})
    if kind == "StringFilters":
        return string_match(vals, f)
    if kind == "NumberFilters":
        return number_match(vals, f)
    if kind == "DateFilters":
        return date_match(vals, f)
    if kind == "BooleanFilters":
        return any(v == f.get("Value") for v in vals)
    if kind == "MapFilters":
        return map_match(vals, f)
    if kind == "IpFilters":
        return any(str(v) == f.get("Cidr", "").split("/")[0] for v in vals)
    return False


def _composite(finding, comp):
    results = []
    for kind in ("StringFilters", "NumberFilters", "DateFilters", "BooleanFilters", "MapFilters", "IpFilters"):
        results.extend(_one(finding, kind, f) for f in comp.get(kind) or [])
    results.extend(_composite(finding, c) for c in comp.get("NestedCompositeFilters") or [])
    if not results:
        return True
    return any(results) if comp.get("Operator") == "OR" else all(results)


def ocsf_match(finding, filters):
    comps = (filters or {}).get("CompositeFilters") or []
    if not comps:
        return True
    results = [_composite(finding, c) for c in comps]
    return any(results) if (filters or {}).get("CompositeOperator") == "OR" else all(results)
