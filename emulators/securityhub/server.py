"""A Security Hub emulator (CSPM and V2) on loopback, speaking the REST-JSON protocol the AWS SDKs send.

    python emulators/securityhub/server.py [--host 127.0.0.1] [--port 4599]

Environment:
  SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR  the project's EventBridge emulator (emulators/eventbridge): the
                                   findings' events go in as an AWS service's, and reach the rules' targets
  SECHUB_EMULATOR_EVENTS_ENDPOINT  else an EventBridge endpoint (e.g. moto server) they are put to
                                   by PutEvents (see events.py)
  SECHUB_EMULATOR_MOTO_ENDPOINT    moto server whose STS maps a caller's access key to its account
                                   (credentials from moto's AssumeRole belong to the role's account)
  MOTO_ACCOUNT_ID                  force one account, as moto does

Emulator-only endpoints (no AWS equivalent; the account and region are the caller's, as for the API,
or ?account= / ?region=, default 123456789012 / us-east-1):
  POST   /_emulator/ocsf/import   {"Findings": [OCSF finding, ...]}: import OCSF findings (V2 must be on)
  GET    /_emulator/events        {"Events": [...]}: every EventBridge event sent, with "delivered"
  DELETE /_emulator/events        forget the recorded events
  POST   /_emulator/reset         forget all state and events
  GET    /_emulator/health        {"status": "ok"}
"""

import argparse
import json
import logging
import os
import re
import sys
import threading
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

import backend  # noqa: E402
import events  # noqa: E402
import protocol  # noqa: E402
import v2  # noqa: E402
from protocol import ApiError  # noqa: E402

log = logging.getLogger("securityhub-emulator")
DEFAULT_ACCOUNT = "123456789012"
_accounts = {}
_accounts_lock = threading.Lock()

OPERATIONS = {name: getattr(backend, name) for name in (
    "EnableSecurityHub", "DisableSecurityHub", "DescribeHub", "BatchImportFindings", "GetFindings",
    "BatchUpdateFindings", "CreateAutomationRule", "BatchGetAutomationRules", "ListAutomationRules",
    "BatchUpdateAutomationRules", "BatchDeleteAutomationRules", "CreateActionTarget", "DescribeActionTargets",
    "UpdateActionTarget", "DeleteActionTarget", "TagResource", "UntagResource", "ListTagsForResource")}
OPERATIONS.update({name: getattr(v2, name) for name in (
    "EnableSecurityHubV2", "DisableSecurityHubV2", "DescribeSecurityHubV2", "GetFindingsV2",
    "BatchUpdateFindingsV2", "CreateAutomationRuleV2", "GetAutomationRuleV2", "ListAutomationRulesV2",
    "UpdateAutomationRuleV2", "DeleteAutomationRuleV2")})


def _credential(request):
    m = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/", request.headers.get("Authorization", ""))
    return (m.group(1), m.group(2)) if m else (None, None)


def _account_of(access_key, token):
    """The caller's account as moto derives it: MOTO_ACCOUNT_ID, else moto's STS for this access key."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    moto = os.environ.get("SECHUB_EMULATOR_MOTO_ENDPOINT")
    if not access_key or not moto:
        return DEFAULT_ACCOUNT
    with _accounts_lock:
        if access_key in _accounts:
            return _accounts[access_key]
    import boto3

    try:
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=moto, aws_access_key_id=access_key,
                           aws_secret_access_key="unused", aws_session_token=token)
        account = sts.get_caller_identity()["Account"]
    except Exception as e:
        log.warning("moto's STS could not name the account of %s (%s); using %s", access_key, e, DEFAULT_ACCOUNT)
        return DEFAULT_ACCOUNT
    if account != DEFAULT_ACCOUNT:  # a key moto does not know yet may be created later
        with _accounts_lock:
            _accounts[access_key] = account
    return account


def _context(request):
    access_key, region = _credential(request)
    account = request.headers.get("x-moto-account-id") or request.args.get("account")
    account = account or _account_of(access_key, request.headers.get("X-Amz-Security-Token"))
    return account, region or request.args.get("region") or "us-east-1"


def _json(status, body, headers=None):
    return Response(json.dumps(body, default=str), status=status, headers=headers or {},
                    content_type="application/json")


def _error(e):
    return _json(e.status, e.body(), {"x-amzn-ErrorType": e.code})


def _emulator(request, path):
    account, region = _context(request)
    if path == "/_emulator/health":
        return _json(200, {"status": "ok"})
    if path == "/_emulator/events" and request.method == "GET":
        return _json(200, {"Events": events.recorded()})
    if path == "/_emulator/events" and request.method == "DELETE":
        events.clear()
        return _json(200, {})
    if path == "/_emulator/reset" and request.method == "POST":
        backend.reset()
        events.clear()
        return _json(200, {})
    if path == "/_emulator/ocsf/import" and request.method == "POST":
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise ApiError("ValidationException", "The request body is not valid JSON")
        with backend._lock:
            return _json(200, v2.import_ocsf(backend.store(account, region), body))
    raise ApiError("ResourceNotFoundException", f"No emulator endpoint {request.method} {path}")


def app(environ, start_response):
    request = Request(environ)
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
    parts = urlsplit(raw)
    try:
        if parts.path.startswith("/_emulator/"):
            response = _emulator(request, parts.path)
        else:
            response = _api(request, parts.path, parts.query)
    except ApiError as e:
        response = _error(e)
    except Exception as e:  # a bug here must still answer as AWS would
        log.exception("internal error")
        response = _error(ApiError("InternalException", f"emulator error: {e}"))
    return response(environ, start_response)


def _api(request, path, query):
    found = protocol.route(request.method, path)
    if not found:
        raise ApiError("ResourceNotFoundException", f"Unknown operation {request.method} {path}")
    op, uri_params = found
    if op not in OPERATIONS:
        return _json(501, {"Code": "NotImplemented", "Message": f"The emulator does not serve {op}"},
                     {"x-amzn-ErrorType": "NotImplemented"})
    params = protocol.parse(op, uri_params, query, request.headers, request.get_data())
    if op != "BatchImportFindings":  # its findings are judged one by one (FailedFindings)
        protocol.validate(op, params)
    account, region = _context(request)
    with backend._lock:
        body = OPERATIONS[op](backend.store(account, region), params)
    log.info("%s %s/%s", op, account, region)
    return _json(200, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", "-H", default="127.0.0.1")
    parser.add_argument("--port", "-p", type=int, default=4599)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"Security Hub emulator on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
