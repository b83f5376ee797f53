"""What the API reference documents of one ASFF finding that botocore's model does not carry.

The model gives AwsSecurityFinding's required members, patterns and enums (protocol.check_shape);
the lengths, item counts, timestamp formats and the 240 KB size are only in the reference's text:
https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_AwsSecurityFinding.html ("Length
Constraints", "Array Members", the Timestamps formats) and
https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html ("The maximum
allowed size for a finding is 240 Kb").
"""

import json
import re
from datetime import datetime

MAX_FINDING_BYTES = 240 * 1024

# (path, min, max): a string's length, or a list's or map's number of items; "[]" walks a list.
LIMITS = [
    ("Id", 1, 512), ("ProductArn", 12, 2048), ("ProductName", 1, 128), ("CompanyName", 1, 128),
    ("Region", 1, 16), ("GeneratorId", 1, 512), ("AwsAccountId", 12, 12), ("AwsAccountName", 1, 50),
    ("Types", 0, 50), ("Title", 1, 256), ("Description", 1, 1024),
    ("Severity.Original", 1, 64), ("FindingProviderFields.Severity.Original", 1, 64),
    ("Remediation.Recommendation.Text", 1, 512), ("ProductFields", 0, 50), ("UserDefinedFields", 0, 50),
    ("Malware", 0, 5), ("Malware[].Name", 1, 64), ("Malware[].Path", 1, 512),
    ("Network.Protocol", 1, 16), ("Network.SourceDomain", 1, 128), ("Network.DestinationDomain", 1, 128),
    ("Process.Name", 1, 64), ("Process.Path", 1, 512),
    ("Threats", 1, 32), ("ThreatIntelIndicators", 1, 5), ("ThreatIntelIndicators[].Value", 1, 512),
    ("ThreatIntelIndicators[].Source", 1, 64), ("Resources", 1, 32), ("Resources[].Type", 1, 256),
    ("Resources[].Region", 1, 16), ("Compliance.RelatedRequirements", 0, 32), ("RelatedFindings", 1, 10),
    ("Note.Text", 1, 512), ("PatchSummary.Id", 1, 256),
]
# a map's (key, value) maximum lengths
MAP_ENTRIES = {"ProductFields": (128, 2048), "UserDefinedFields": (128, 1024)}
# "between 0 and 100"
RANGES = [("Severity.Normalized", 0, 100)]
TIMESTAMPS = ["CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt", "Process.LaunchedAt",
              "Process.TerminatedAt", "ThreatIntelIndicators[].LastObservedAt"]
# Timestamps: "Timestamps can end with Z or ("+" / "-") time-hour [":" time-minute]. The time-secfrac
# after seconds is limited to a maximum of 9 digits. The offset is bounded by +/-18:00."
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-](\d{2})(?::?(\d{2}))?)")


def _values(value, path):
    """(where, value) for each value at `path` ("[]" for each item of a list), present ones only."""
    head, _, rest = path.partition(".")
    each = head.endswith("[]")
    key = head[:-2] if each else head
    if not isinstance(value, dict) or value.get(key) is None:
        return []
    items = list(enumerate(value[key])) if each and isinstance(value[key], list) else [(None, value[key])]
    out = []
    for i, v in items:
        where = key if i is None else f"{key}[{i}]"
        if rest:
            out += [(f"{where}.{w}", x) for w, x in _values(v, rest)]
        else:
            out.append((where, v))
    return out


def timestamp_ok(text):
    m = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if not m:
        return False
    try:
        datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    hours, minutes = int(m.group(4) or 0), int(m.group(5) or 0)
    return minutes < 60 and hours * 60 + minutes <= 18 * 60


def problem(f):
    """The first documented constraint finding `f` (already of the model's shape) breaks, or None."""
    for path, lo, hi in LIMITS:
        for where, v in _values(f, path):
            if not lo <= len(v) <= hi:
                unit = "characters" if isinstance(v, str) else "items"
                return f"Finding.{where} must have between {lo} and {hi} {unit} (has {len(v)})"
    for path, (key_max, value_max) in MAP_ENTRIES.items():
        for k, v in (f.get(path) or {}).items():
            if len(k) > key_max or len(v) > value_max:
                return (f"Finding.{path} keys hold at most {key_max} characters and values at most "
                        f"{value_max} ({k!r})")
    for path, lo, hi in RANGES:
        for where, v in _values(f, path):
            if not lo <= v <= hi:
                return f"Finding.{where} must be between {lo} and {hi}"
    for path in TIMESTAMPS:
        for where, v in _values(f, path):
            if not timestamp_ok(v):
                return f"Finding.{where} is not a timestamp Security Hub accepts ({v!r})"
    return None


def too_big(f):
    return len(json.dumps(f, separators=(",", ":")).encode()) > MAX_FINDING_BYTES
