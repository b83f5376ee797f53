"""ASFF → OCSF: the OCSF twin Security Hub (V2) shows of a CSPM finding, and OCSF field helpers."""

import uuid
from datetime import datetime, timezone

SEVERITY = {"INFORMATIONAL": (1, "Informational"), "LOW": (2, "Low"), "MEDIUM": (3, "Medium"),
            "HIGH": (4, "High"), "CRITICAL": (5, "Critical")}
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical",
                  6: "Fatal", 99: "Other"}
STATUS_NAMES = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived",
                6: "Deleted", 99: "Other"}
WORKFLOW_STATUS = {"NEW": 1, "NOTIFIED": 2, "SUPPRESSED": 3, "RESOLVED": 4}
COMPLIANCE = {"PASSED": (1, "Pass"), "WARNING": (2, "Warning"), "FAILED": (3, "Fail"),
              "NOT_AVAILABLE": (0, "Unknown")}


def _ms(iso):
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except (AttributeError, ValueError):
        return int(datetime.now(timezone.utc).timestamp() * 1000)


def twin_uid(asff_id):
    """The OCSF twin's metadata.uid: stable for one ASFF finding id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, asff_id))


def from_asff(f, region):
    """A reasonable OCSF twin: class 2003 (Compliance Finding) for a control finding, else 2004."""
    sev_id, sev = SEVERITY.get((f.get("Severity") or {}).get("Label", ""), (0, "Unknown"))
    status_id = WORKFLOW_STATUS.get((f.get("Workflow") or {}).get("Status", "NEW"), 1)
    if f.get("RecordState") == "ARCHIVED":
        status_id = 5
    account = f.get("AwsAccountId")
    control = (f.get("Compliance") or {}).get("SecurityControlId") or (f.get("ProductFields") or {}).get("ControlId")
    is_control = bool(f.get("Compliance"))
    class_uid = 2003 if is_control else 2004
    out = {
        "class_uid": class_uid,
        "class_name": "Compliance Finding" if is_control else "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": class_uid * 100 + 1,
        "time": _ms(f.get("UpdatedAt")),
        "time_dt": f.get("UpdatedAt"),
        "severity_id": sev_id,
        "severity": sev,
        "status_id": status_id,
        "status": STATUS_NAMES[status_id],
        "metadata": {
            "uid": twin_uid(f["Id"]),
            "version": "1.6.0",
            "profiles": ["cloud", "datetime"],
            "product": {
                "uid": f"arn:aws:securityhub:{region}::productv2/aws/securityhub",
                "name": "Security Hub",
                "vendor_name": "AWS",
            },
        },
        "finding_info": {
            "uid": f["Id"],
            "title": f.get("Title"),
            "desc": f.get("Description"),
            "types": f.get("Types", []),
            "created_time_dt": f.get("CreatedAt"),
            "modified_time_dt": f.get("UpdatedAt"),
            "first_seen_time_dt": f.get("FirstObservedAt"),
            "last_seen_time_dt": f.get("LastObservedAt"),
        },
        "cloud": {"provider": "AWS", "region": f.get("Region", region), "account": {"uid": account}},
        "resources": [
            {
                "type": r.get("Type"),
                "uid": r.get("Id"),
                "region": r.get("Region", region),
                "cloud_partition": r.get("Partition", "aws"),
                "owner": {"account": {"uid": account}},
                **({"tags": [{"name": k, "value": v} for k, v in r["Tags"].items()]} if r.get("Tags") else {}),
            }
            for r in f.get("Resources", [])
        ],
        "unmapped": {"GeneratorId": f.get("GeneratorId"), "ProductArn": f.get("ProductArn")},
    }
    if is_control:
        cid, cname = COMPLIANCE.get(f["Compliance"].get("Status", ""), (0, "Unknown"))
        out["compliance"] = {
            "control": control,
            "status_id": cid,
            "status": cname,
            "standards": [s.get("StandardsId") for s in f["Compliance"].get("AssociatedStandards", [])],
        }
    rem = (f.get("Remediation") or {}).get("Recommendation") or {}
    if rem:
        out["remediation"] = {"desc": rem.get("Text"), "references": [rem["Url"]] if rem.get("Url") else []}
    if (f.get("Note") or {}).get("Text"):
        out["comment"] = f["Note"]["Text"]
    return out


def resource_arns(finding):
    return [r.get("uid") for r in finding.get("resources", []) if str(r.get("uid", "")).startswith("arn:")]
