"""Security Hub (V2, OCSF): hub, findings, automation rules, and the emulator-only OCSF import."""

import json
import uuid

import filters
import ocsf
from backend import _emit_ocsf, _length, _page, _require_v2, _store_ocsf, now
from protocol import ApiError

# BatchUpdateFindingsV2's "allowed enum values" (API_BatchUpdateFindingsV2.html): SeverityId
# [0, 1, 2, 3, 4, 5, 6, 99], StatusId [0, 1, 2, 3, 4, 5, 99].
SEVERITY_IDS = {0, 1, 2, 3, 4, 5, 6, 99}
STATUS_IDS = {0, 1, 2, 3, 4, 5, 99}
# A V2 rule's FindingFieldsUpdate (API_AutomationRulesFindingFieldsUpdateV2.html) lists no values:
# the emulator takes OCSF's status ids, 6 (Deleted) included.
RULE_STATUS_IDS = STATUS_IDS | {6}


def _invalid(msg):
    return ApiError("ValidationException", msg)


def EnableSecurityHubV2(s, p):
    arn = s.arn("hubv2/default")
    if s.hub_v2 is None:
        s.hub_v2 = {"SubscribedAt": now()}
        s.tags[arn] = dict(p.get("Tags") or {})
    return {"HubV2Arn": arn}


def DisableSecurityHubV2(s, p):
    _require_v2(s)
    s.hub_v2 = None
    s.ocsf.clear()
    s.v2_set.clear()
    s.rules_v2.clear()
    return {}


def DescribeSecurityHubV2(s, p):
    if s.hub_v2 is None:
        raise ApiError("ResourceNotFoundException", f"Security Hub is not enabled in account {s.account}")
    return {"HubV2Arn": s.arn("hubv2/default"), "SubscribedAt": s.hub_v2["SubscribedAt"]}


_FILTER_KINDS = ("StringFilters", "DateFilters", "BooleanFilters", "NumberFilters", "MapFilters", "IpFilters")


def _too_many(composite):
    """Over the documented limits, at any depth: a nested composite filter is a composite filter
    too, held to the same counts."""
    if len(composite) > 10:
        return True
    for c in composite:
        if any(len(c.get(k) or []) > 20 for k in _FILTER_KINDS):
            return True
        if _too_many(c.get("NestedCompositeFilters") or []):
            return True
    return False


def GetFindingsV2(s, p):
    _require_v2(s)
    # "You can filter up to 10 composite filters. For each filter type inside of a composite filter,
    # you can provide up to 20 filters" (API_GetFindingsV2.html)
    composite = (p.get("Filters") or {}).get("CompositeFilters") or []
    if _too_many(composite):
        raise _invalid("Filters take up to 10 composite filters and up to 20 filters of each type in each")
    items = [f for f in s.ocsf.values() if filters.ocsf_match(f, p.get("Filters"))]
    for c in reversed(p.get("SortCriteria") or []):
        field = c.get("Field", "")
        items.sort(key=lambda f: str((filters.values(f, field) or [""])[0]), reverse=c.get("SortOrder") == "desc")
    page, nxt = _page(items, p, "ValidationException")
    return {"Findings": page, **({"NextToken": nxt} if nxt else {})}


def _check_fields(p, status_ids=STATUS_IDS):
    _length(p.get("Comment"), "Comment", 1, 512, "ValidationException")
    if p.get("SeverityId") is not None and p["SeverityId"] not in SEVERITY_IDS:
        raise _invalid(f"SeverityId must be one of {sorted(SEVERITY_IDS)}")
    if p.get("StatusId") is not None and p["StatusId"] not in status_ids:
        raise _invalid(f"StatusId must be one of {sorted(status_ids)}")


def _update(f, u):
    if u.get("Comment") is not None:
        f["comment"] = u["Comment"]
    if u.get("SeverityId") is not None:
        f["severity_id"], f["severity"] = u["SeverityId"], ocsf.SEVERITY_NAMES[u["SeverityId"]]
    if u.get("StatusId") is not None:
        f["status_id"], f["status"] = u["StatusId"], ocsf.STATUS_NAMES[u["StatusId"]]
    # "Updates from BatchUpdateFindingsV2 don't affect the value of finding_info.modified_time,
    # finding_info.modified_time_dt, time, or time_dt" (API_BatchUpdateFindingsV2.html)
    f["activity_id"], f["activity_name"] = 2, "Update"
    f["type_uid"] = f.get("class_uid", 2004) * 100 + 2


def _customer_fields(f, p):
    """The OCSF fields update `p` set on `f`."""
    keys = {"Comment": ("comment",), "SeverityId": ("severity_id", "severity"), "StatusId": ("status_id", "status")}
    return {k: f[k] for member, ks in keys.items() if p.get(member) is not None for k in ks}


def _by_identifier(s, ident):
    for f in s.ocsf.values():
        if (filters.values(f, "cloud.account.uid") == [ident["CloudAccountUid"]]
                and filters.values(f, "finding_info.uid") == [ident["FindingInfoUid"]]
                and filters.values(f, "metadata.product.uid") == [ident["MetadataProductUid"]]):
            return f
    return None


def BatchUpdateFindingsV2(s, p):
    _require_v2(s)
    uids, idents = p.get("MetadataUids") or [], p.get("FindingIdentifiers") or []
    if not uids and not idents:
        raise _invalid("Either MetadataUids or FindingIdentifiers is required")
    if uids and idents:
        raise _invalid("Customers cannot use MetadataUids together with FindingIdentifiers")
    if len(uids) > 100 or len(idents) > 100:
        raise _invalid("MetadataUids and FindingIdentifiers hold at most 100 items each")
    if all(p.get(k) is None for k in ("Comment", "SeverityId", "StatusId")):
        raise _invalid("At least one of Comment, SeverityId or StatusId is required")
    _check_fields(p)
    done, missing = [], []
    targets = [({"MetadataUid": u}, s.ocsf.get(u)) for u in uids]
    targets += [({"FindingIdentifier": i}, _by_identifier(s, i)) for i in idents]
    for ident, f in targets:
        if f is None:
            missing.append({**ident, "ErrorCode": "ResourceNotFoundException",
                            "ErrorMessage": "No finding matches this identifier"})
            continue
        _update(f, p)
        s.v2_set.setdefault(f["metadata"]["uid"], {}).update(_customer_fields(f, p))
        done.append(ident)
        _emit_ocsf(s, f)
    return {"ProcessedFindings": done, "UnprocessedFindings": missing}


# ---------- V2 automation rules ----------


def _apply_rules_v2(s, f):
    for rule in sorted(s.rules_v2.values(), key=lambda r: r["RuleOrder"]):
        if rule["RuleStatus"] != "ENABLED":
            continue
        if not filters.ocsf_match(f, (rule.get("Criteria") or {}).get("OcsfFindingCriteria")):
            continue
        for action in rule["Actions"]:
            if action["Type"] == "FINDING_FIELDS_UPDATE":
                _update(f, action.get("FindingFieldsUpdate") or {})


def _check_rule(p):
    _length(p.get("RuleName"), "RuleName", 1, 256, "ValidationException")
    _length(p.get("Description"), "Description", 1, 256, "ValidationException")
    for action in p.get("Actions") or []:
        if action["Type"] == "FINDING_FIELDS_UPDATE":
            update = action.get("FindingFieldsUpdate")
            if not update:
                raise _invalid("A FINDING_FIELDS_UPDATE action needs FindingFieldsUpdate")
            _check_fields(update, RULE_STATUS_IDS)
        elif not action.get("ExternalIntegrationConfiguration"):
            raise _invalid("An EXTERNAL_INTEGRATION action needs ExternalIntegrationConfiguration")


def _meta(rule):
    out = {k: v for k, v in rule.items() if k not in ("Criteria", "Actions")}
    out["Actions"] = [{"Type": a["Type"]} for a in rule["Actions"]]
    return out


def CreateAutomationRuleV2(s, p):
    _require_v2(s)
    _check_rule(p)
    token = p.get("ClientToken")
    if token and token in s.client_tokens and s.client_tokens[token] in s.rules_v2:
        rule = s.rules_v2[s.client_tokens[token]]
        return {"RuleArn": rule["RuleArn"], "RuleId": rule["RuleId"]}
    if len(s.rules_v2) >= 100:
        raise ApiError("ServiceQuotaExceededException", "An account can have at most 100 automation rules")
    rule_id = str(uuid.uuid4())
    arn = s.arn(f"automation-rulev2/{rule_id}")
    t = now()
    rule = {"RuleArn": arn, "RuleId": rule_id, "RuleOrder": p["RuleOrder"], "RuleName": p["RuleName"],
            "RuleStatus": p.get("RuleStatus", "ENABLED"), "Description": p["Description"],
            "Criteria": p["Criteria"], "Actions": p["Actions"], "CreatedAt": t, "UpdatedAt": t}
    s.rules_v2[arn] = rule
    s.tags[arn] = dict(p.get("Tags") or {})
    if token:
        s.client_tokens[token] = arn
    return {"RuleArn": arn, "RuleId": rule_id}


def _rule(s, ident):
    for rule in s.rules_v2.values():
        if ident in (rule["RuleArn"], rule["RuleId"]):
            return rule
    raise ApiError("ResourceNotFoundException", f"Automation rule {ident} was not found")


def GetAutomationRuleV2(s, p):
    _require_v2(s)
    return dict(_rule(s, p["Identifier"]))


def ListAutomationRulesV2(s, p):
    _require_v2(s)
    rules = [_meta(r) for r in sorted(s.rules_v2.values(), key=lambda r: r["RuleOrder"])]
    page, nxt = _page(rules, p, "ValidationException")
    return {"Rules": page, **({"NextToken": nxt} if nxt else {})}


def UpdateAutomationRuleV2(s, p):
    _require_v2(s)
    rule = _rule(s, p["Identifier"])
    _check_rule(p)
    rule.update({k: p[k] for k in ("RuleStatus", "RuleOrder", "Description", "RuleName", "Criteria", "Actions")
                 if k in p})
    rule["UpdatedAt"] = now()
    return {}


def DeleteAutomationRuleV2(s, p):
    _require_v2(s)
    rule = _rule(s, p["Identifier"])
    del s.rules_v2[rule["RuleArn"]]
    s.tags.pop(rule["RuleArn"], None)
    return {}


# ---------- emulator-only: POST /_emulator/ocsf/import ----------

_OCSF_REQUIRED = ("metadata.uid", "finding_info.uid", "metadata.product.uid", "cloud.account.uid")


def import_ocsf(s, body):
    """Store OCSF findings as Security Hub would receive them, one "Findings Imported V2" event each."""
    _require_v2(s)
    findings = body.get("Findings") if isinstance(body, dict) else None
    if not isinstance(findings, list) or not 1 <= len(findings) <= 100:
        raise _invalid("Findings must hold between 1 and 100 OCSF findings")
    failed, count = [], 0
    for f in findings:
        missing = [k for k in _OCSF_REQUIRED if not isinstance(f, dict) or not filters.values(f, k)]
        if missing:
            failed.append({"MetadataUid": filters.values(f, "metadata.uid")[:1] if isinstance(f, dict) else [],
                           "ErrorMessage": f"missing {', '.join(missing)}"})
            continue
        f = json.loads(json.dumps(f))
        f.setdefault("status_id", 1)
        f.setdefault("status", ocsf.STATUS_NAMES.get(f["status_id"], "Other"))
        _store_ocsf(s, f)
        count += 1
    return {"SuccessCount": count, "FailedCount": len(failed), "FailedFindings": failed}
