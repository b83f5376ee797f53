"""Security Hub's state per account and region, and every operation the emulator serves.

Each operation is a function named after the API operation taking (store, params) and returning the
response body; it raises protocol.ApiError for AWS's errors.
"""

import base64
import json
import re
import threading
import uuid
from datetime import datetime, timezone

import events
import filters
import limits
import ocsf
from protocol import ApiError, check_shape

_lock = threading.RLock()
_stores = {}


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    def __init__(self, account, region):
        self.account, self.region = account, region
        self.hub = None  # {"SubscribedAt", "Tags", ...} while CSPM is enabled
        self.hub_v2 = None
        self.findings = {}  # (ProductArn, Id) → ASFF finding
        self.ocsf = {}  # metadata.uid → OCSF finding
        self.v2_set = {}  # metadata.uid → the fields BatchUpdateFindingsV2 set (a twin keeps them)
        self.rules = {}  # arn → CSPM automation rule
        self.rules_v2 = {}  # arn → V2 automation rule
        self.client_tokens = {}
        self.targets = {}  # arn → action target
        self.tags = {}  # arn → {key: value}

    def arn(self, suffix):
        return f"arn:aws:securityhub:{self.region}:{self.account}:{suffix}"


def store(account, region):
    with _lock:
        return _stores.setdefault((account, region), Store(account, region))


def reset():
    with _lock:
        _stores.clear()


# ---------- helpers ----------


def _invalid(msg):
    return ApiError("InvalidInputException", msg)


def _require_hub(s):
    if s.hub is None:
        raise ApiError("InvalidAccessException",
                       f"Account {s.account} is not subscribed to AWS Security Hub in {s.region}")


def _require_v2(s):
    if s.hub_v2 is None:
        raise ApiError("AccessDeniedException",
                       f"Security Hub is not enabled in account {s.account} and region {s.region}; "
                       "call EnableSecurityHubV2 first")


def _page(items, params, code):
    """One page of `items` and the NextToken of the next (an opaque offset)."""
    start = 0
    if params.get("NextToken"):
        try:
            start = json.loads(base64.b64decode(params["NextToken"]))["offset"]
        except Exception:
            raise ApiError(code, "The NextToken is not valid")
    size = params.get("MaxResults") or 100
    page = items[start:start + size]
    nxt = None
    if start + size < len(items):
        nxt = base64.b64encode(json.dumps({"offset": start + size}).encode()).decode()
    return page, nxt


def _length(value, name, lo, hi, code="InvalidInputException"):
    if value is not None and not lo <= len(value) <= hi:
        raise ApiError(code, f"{name} must be between {lo} and {hi} characters long (got {len(value)})")


def _emit_asff(s, f):
    events.emit(s.account, s.region, events.ASFF_IMPORTED, f, [f["Id"]])


def _emit_ocsf(s, f):
    events.emit(s.account, s.region, events.OCSF_IMPORTED, f, ocsf.resource_arns(f))


def _store_ocsf(s, f):
    from v2 import _apply_rules_v2

    _apply_rules_v2(s, f)
    s.ocsf[f["metadata"]["uid"]] = f
    _emit_ocsf(s, f)


def _store_twin(s, f):
    """The OCSF twin of CSPM finding `f`, rebuilt on each provider import. AWS documents no link
    between the CSPM workflow and the V2 status (each hub has its own update operation), so what
    BatchUpdateFindingsV2 set on the twin stays; a CSPM BatchUpdateFindings does not touch it."""
    twin = ocsf.from_asff(f, s.region)
    twin.update(s.v2_set.get(twin["metadata"]["uid"], {}))
    _store_ocsf(s, twin)


# ---------- CSPM hub ----------


def EnableSecurityHub(s, p):
    if s.hub is not None:
        raise ApiError("ResourceConflictException", f"Account {s.account} is already subscribed to Security Hub")
    s.hub = {"SubscribedAt": now(), "ControlFindingGenerator": p.get("ControlFindingGenerator", "SECURITY_CONTROL")}
    s.tags[s.arn("hub/default")] = dict(p.get("Tags") or {})
    return {}


def DisableSecurityHub(s, p):
    _require_hub(s)
    s.hub = None
    s.findings.clear()
    s.rules.clear()
    s.targets.clear()
    return {}


def DescribeHub(s, p):
    _require_hub(s)
    arn = s.arn("hub/default")
    if p.get("HubArn") and p["HubArn"] != arn:
        raise ApiError("ResourceNotFoundException", f"No hub was found with ARN {p['HubArn']}")
    return {"HubArn": arn, "SubscribedAt": s.hub["SubscribedAt"], "AutoEnableControls": True,
            "ControlFindingGenerator": s.hub["ControlFindingGenerator"]}


# ---------- CSPM findings ----------

_BATCH_UPDATE_OWNED = ("Workflow", "Note", "UserDefinedFields", "VerificationState", "Confidence", "Criticality")


def _import_problem(f):
    """(ErrorCode, ErrorMessage) of a finding BatchImportFindings refuses, or None. The reference names
    no code for a finding over 240 KB: the emulator borrows BatchUpdateFindings' FindingSizeExceeded."""
    problem = check_shape("AwsSecurityFinding", f, "Finding") if isinstance(f, dict) else "Finding must be an object"
    problem = problem or limits.problem(f)
    if problem:
        return "InvalidInput", problem
    if limits.too_big(f):
        return "FindingSizeExceeded", "Finding size exceeded 240 KB"
    return None


def BatchImportFindings(s, p):
    _require_hub(s)
    findings = p.get("Findings")
    if not isinstance(findings, list) or not 1 <= len(findings) <= 100:
        raise _invalid("Findings must hold between 1 and 100 findings")
    failed, imported = [], []
    for f in findings:
        problem = _import_problem(f)
        if problem:
            failed.append({"Id": (f or {}).get("Id", "") if isinstance(f, dict) else "",
                           "ErrorCode": problem[0], "ErrorMessage": problem[1]})
            continue
        f = json.loads(json.dumps(f))
        key = (f["ProductArn"], f["Id"])
        old = s.findings.get(key)
        if old:
            for k in _BATCH_UPDATE_OWNED:
                if k in old:
                    f[k] = old[k]
        _provider_fields(old, f)
        f.setdefault("Workflow", {"Status": "NEW"})
        f.setdefault("WorkflowState", "NEW")
        f.setdefault("RecordState", "ACTIVE")
        _auto_workflow(old, f)
        f.setdefault("Region", s.region)
        f["ProcessedAt"] = now()
        _apply_rules(s, f)
        s.findings[key] = f
        imported.append(f)
    for f in imported:
        _emit_asff(s, f)
        if s.hub_v2 is not None:
            _store_twin(s, f)
    return {"FailedCount": len(failed), "SuccessCount": len(imported), "FailedFindings": failed}


_PROVIDER_FIELDS = ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types")


def _provider_fields(old, f):
    """API_FindingProviderFields.html: "When a new finding is sent ..., Security Hub CSPM populates the
    FindingProviderFields object automatically, if it is empty, based on the corresponding top-level
    fields". An update that sends none keeps the ones Security Hub holds."""
    if f.get("FindingProviderFields"):
        return
    if old:
        if old.get("FindingProviderFields"):
            f["FindingProviderFields"] = old["FindingProviderFields"]
        return
    fields = {k: f[k] for k in _PROVIDER_FIELDS if f.get(k) is not None}
    if fields:
        f["FindingProviderFields"] = json.loads(json.dumps(fields))


_WORKFLOW_STATE = {"NOTIFIED": "ASSIGNED", "SUPPRESSED": "DEFERRED", "RESOLVED": "RESOLVED"}
_CONTROLS = re.compile(r"arn:[^:]+:securityhub:[^:]*::product/aws/securityhub")


def _set_workflow(f, status):
    f["Workflow"] = {"Status": status}
    f["WorkflowState"] = _WORKFLOW_STATE.get(status, "NEW")


def _compliance(f):
    return (f.get("Compliance") or {}).get("Status") if f else None


def _auto_workflow(old, f):
    """What Security Hub does to the workflow status of an imported finding (API_Workflow.html,
    API_WorkflowUpdate.html, AwsSecurityFindingFilters.WorkflowStatus): NOTIFIED or RESOLVED goes back
    to NEW when RecordState changes from ARCHIVED to ACTIVE or Compliance.Status from PASSED to WARNING,
    FAILED or NOT_AVAILABLE (SUPPRESSED does not); "for findings from controls", Compliance.Status PASSED
    sets RESOLVED. Findings from controls are those of Security Hub's own product ARN."""
    status = f["Workflow"].get("Status", "NEW")
    if old and status in ("NOTIFIED", "RESOLVED"):
        reactivated = old.get("RecordState") == "ARCHIVED" and f["RecordState"] == "ACTIVE"
        failing = _compliance(old) == "PASSED" and _compliance(f) in ("WARNING", "FAILED", "NOT_AVAILABLE")
        if reactivated or failing:
            status = "NEW"
    if _compliance(f) == "PASSED" and _CONTROLS.fullmatch(f["ProductArn"]):
        status = "RESOLVED"
    if status != f["Workflow"].get("Status"):
        _set_workflow(f, status)


def _sorted(items, criteria, getter):
    for c in reversed(criteria or []):
        field = c.get("Field", "")
        items.sort(key=lambda x: str((getter(x, field) or [""])[0]), reverse=c.get("SortOrder") == "desc")
    return items


def GetFindings(s, p):
    _require_hub(s)
    # "You can filter by up to 10 finding attributes. For each attribute, you can provide up to 20
    # filter values" (API_GetFindings.html)
    used = {k: v for k, v in (p.get("Filters") or {}).items() if v}
    if len(used) > 10 or any(len(v) > 20 for v in used.values()):
        raise _invalid("Filters take up to 10 finding attributes and up to 20 values for each")
    items = [f for f in s.findings.values() if filters.asff_match(f, p.get("Filters"))]
    items = _sorted(items, p.get("SortCriteria"), lambda f, k: filters.values(f, filters.ASFF_FIELDS.get(k, k)))
    page, nxt = _page(items, p, "InvalidInputException")
    return {"Findings": page, **({"NextToken": nxt} if nxt else {})}


_LABEL_NORMALIZED = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}


def _label(normalized):
    """API_SeverityUpdate.html: "If you provide Normalized and don't provide Label, Label is set
    automatically as follows. 0 - INFORMATIONAL, 1–39 - LOW, 40–69 - MEDIUM, 70–89 - HIGH,
    90–100 - CRITICAL"."""
    return next(label for lo, label in ((90, "CRITICAL"), (70, "HIGH"), (40, "MEDIUM"), (1, "LOW"),
                                         (0, "INFORMATIONAL")) if normalized >= lo)


def _update_asff(f, u):
    """Apply the BatchUpdateFindings fields of `u` (also an automation rule's FindingFieldsUpdate)."""
    if u.get("Workflow", {}).get("Status"):
        _set_workflow(f, u["Workflow"]["Status"])
    if u.get("Note"):
        f["Note"] = {**u["Note"], "UpdatedAt": now()}
    if u.get("Severity"):
        sev = dict(f.get("Severity") or {})
        sev.update(u["Severity"])
        if "Label" in u["Severity"] and "Normalized" not in u["Severity"]:
            sev["Normalized"] = _LABEL_NORMALIZED[u["Severity"]["Label"]]
        if "Normalized" in u["Severity"] and "Label" not in u["Severity"]:
            sev["Label"] = _label(u["Severity"]["Normalized"])
        f["Severity"] = sev
    if u.get("UserDefinedFields"):
        f["UserDefinedFields"] = {**f.get("UserDefinedFields", {}), **u["UserDefinedFields"]}
    for k in ("VerificationState", "Confidence", "Criticality", "Types", "RelatedFindings"):
        if k in u:
            f[k] = u[k]
    # UpdatedAt is the provider's: "your updates don't affect the value for the UpdatedAt field"
    # (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchUpdateFindings.html)


def _check_note(note, code="InvalidInputException"):
    if note:
        _length(note.get("Text"), "Note.Text", 1, 512, code)
        _length(note.get("UpdatedBy"), "Note.UpdatedBy", 1, 512, code)


def BatchUpdateFindings(s, p):
    _require_hub(s)
    ids = p.get("FindingIdentifiers") or []
    if not 1 <= len(ids) <= 100:
        raise _invalid("FindingIdentifiers must hold between 1 and 100 identifiers")
    _check_note(p.get("Note"))
    for name in ("Confidence", "Criticality"):
        if p.get(name) is not None and not 0 <= p[name] <= 100:
            raise _invalid(f"{name} must be between 0 and 100")
    if not any(p.get(k) is not None for k in
               ("Note", "Severity", "VerificationState", "Confidence", "Criticality", "Types",
                "UserDefinedFields", "Workflow", "RelatedFindings")):
        raise _invalid("BatchUpdateFindings needs at least one field to update")
    done, missing = [], []
    keys = [(i["ProductArn"], i["Id"]) for i in ids]
    for n, ident in enumerate(ids):
        if keys.count(keys[n]) > 1:
            if keys.index(keys[n]) == n:
                missing.append({"FindingIdentifier": ident, "ErrorCode": "DuplicatedFindingIdentifier",
                                "ErrorMessage": "Finding Identifier is duplicated"})
            continue
        f = s.findings.get(keys[n])
        if f is None:
            missing.append({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound",
                            "ErrorMessage": "Finding Not Found"})
            continue
        _update_asff(f, p)
        done.append(ident)
        _emit_asff(s, f)
    return {"ProcessedFindings": done, "UnprocessedFindings": missing}


# ---------- CSPM automation rules ----------


def _apply_rules(s, f):
    for rule in sorted(s.rules.values(), key=lambda r: r["RuleOrder"]):
        if rule.get("RuleStatus", "ENABLED") != "ENABLED" or not filters.asff_match(f, rule.get("Criteria")):
            continue
        for action in rule.get("Actions", []):
            _update_asff(f, action.get("FindingFieldsUpdate") or {})
        if rule.get("IsTerminal"):
            break


def _rule_fields_problem(p):
    for action in p.get("Actions") or []:
        _check_note((action.get("FindingFieldsUpdate") or {}).get("Note"))
    _length(p.get("RuleName"), "RuleName", 1, 256)
    _length(p.get("Description"), "Description", 1, 256)


def CreateAutomationRule(s, p):
    _require_hub(s)
    _rule_fields_problem(p)
    if len(s.rules) >= 100:
        raise ApiError("LimitExceededException", "An account can have at most 100 automation rules per Region")
    arn = s.arn(f"automation-rule/{uuid.uuid4()}")
    t = now()
    rule = {k: p[k] for k in ("RuleStatus", "RuleOrder", "RuleName", "Description", "IsTerminal",
                              "Criteria", "Actions") if k in p}
    rule.setdefault("RuleStatus", "ENABLED")
    rule.setdefault("IsTerminal", False)
    rule.update(RuleArn=arn, CreatedAt=t, UpdatedAt=t, CreatedBy=f"arn:aws:iam::{s.account}:root")
    s.rules[arn] = rule
    s.tags[arn] = dict(p.get("Tags") or {})
    return {"RuleArn": arn}


def _unprocessed_rule(arn):
    return {"RuleArn": arn, "ErrorCode": 404, "ErrorMessage": f"Automation rule {arn} was not found"}


def BatchGetAutomationRules(s, p):
    _require_hub(s)
    arns = p["AutomationRulesArns"]
    return {"Rules": [s.rules[a] for a in arns if a in s.rules],
            "UnprocessedAutomationRules": [_unprocessed_rule(a) for a in arns if a not in s.rules]}


def ListAutomationRules(s, p):
    _require_hub(s)
    meta = [{k: v for k, v in r.items() if k not in ("Criteria", "Actions")}
            for r in sorted(s.rules.values(), key=lambda r: r["RuleOrder"])]
    page, nxt = _page(meta, p, "InvalidInputException")
    return {"AutomationRulesMetadata": page, **({"NextToken": nxt} if nxt else {})}


def BatchUpdateAutomationRules(s, p):
    _require_hub(s)
    done, missing = [], []
    for item in p["UpdateAutomationRulesRequestItems"]:
        _rule_fields_problem(item)
        rule = s.rules.get(item["RuleArn"])
        if rule is None:
            missing.append(_unprocessed_rule(item["RuleArn"]))
            continue
        rule.update({k: v for k, v in item.items() if k != "RuleArn"})
        rule["UpdatedAt"] = now()
        done.append(item["RuleArn"])
    return {"ProcessedAutomationRules": done, "UnprocessedAutomationRules": missing}


def BatchDeleteAutomationRules(s, p):
    _require_hub(s)
    arns = p["AutomationRulesArns"]
    done = [a for a in arns if s.rules.pop(a, None) is not None]
    for a in done:
        s.tags.pop(a, None)
    return {"ProcessedAutomationRules": done,
            "UnprocessedAutomationRules": [_unprocessed_rule(a) for a in arns if a not in done]}


# ---------- CSPM action targets ----------


def _target(s, arn):
    if arn not in s.targets:
        raise ApiError("ResourceNotFoundException", f"Action target {arn} was not found")
    return s.targets[arn]


def _check_target(p):
    _length(p.get("Name"), "Name", 1, 20)
    _length(p.get("Description"), "Description", 1, 1024)


def CreateActionTarget(s, p):
    _require_hub(s)
    if not re.fullmatch(r"[A-Za-z0-9]{1,20}", p["Id"]):
        raise _invalid("Id must be 1 to 20 alphanumeric characters")
    _check_target(p)
    arn = s.arn(f"action/custom/{p['Id']}")
    if arn in s.targets:
        raise ApiError("ResourceConflictException", f"Action target {arn} already exists")
    s.targets[arn] = {"ActionTargetArn": arn, "Name": p["Name"], "Description": p["Description"]}
    return {"ActionTargetArn": arn}


def DescribeActionTargets(s, p):
    _require_hub(s)
    arns = p.get("ActionTargetArns")
    items = [_target(s, a) for a in arns] if arns else sorted(s.targets.values(), key=lambda t: t["ActionTargetArn"])
    page, nxt = _page(items, p, "InvalidInputException")
    return {"ActionTargets": page, **({"NextToken": nxt} if nxt else {})}


def UpdateActionTarget(s, p):
    _require_hub(s)
    target = _target(s, p["ActionTargetArn"])
    _check_target(p)
    target.update({k: p[k] for k in ("Name", "Description") if k in p})
    return {}


def DeleteActionTarget(s, p):
    _require_hub(s)
    _target(s, p["ActionTargetArn"])
    return {"ActionTargetArn": s.targets.pop(p["ActionTargetArn"])["ActionTargetArn"]}


# ---------- tags (hub, automation rules of both kinds, the V2 hub) ----------


def _taggable(s, arn):
    if arn not in s.tags:
        raise ApiError("ResourceNotFoundException", f"Resource {arn} was not found")
    return s.tags[arn]


def TagResource(s, p):
    tags = _taggable(s, p["ResourceArn"])
    if len({**tags, **p["Tags"]}) > 50:
        raise _invalid("A resource can have at most 50 tags")
    tags.update(p["Tags"])
    return {}


def UntagResource(s, p):
    tags = _taggable(s, p["ResourceArn"])
    for k in p["TagKeys"]:
        tags.pop(k, None)
    return {}


def ListTagsForResource(s, p):
    return {"Tags": _taggable(s, p["ResourceArn"])}
