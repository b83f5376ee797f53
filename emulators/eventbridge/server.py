"""EventBridge for the emulators: moto keeps the buses, rules, targets and bus policies as they are given,
and this server delivers the events to the targets — which moto cannot do for functions that run in
ministack. Every EventBridge call but PutEvents is passed to moto unchanged; PutEvents is answered here
as AWS answers it (an `aws.*` source refused, a malformed entry failed, the rest accepted) and each
accepted event is delivered by delivery.py.

    python emulators/eventbridge/server.py [--host 127.0.0.1] [--port 4600]

Environment:
  EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT  moto server: the buses, rules and targets (required)
  EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT  where the targets are: Lambda, SQS, SNS and CloudWatch (ministack)

Emulator-only endpoints (no AWS equivalent):
  POST   /_emulator/service-events?account=&region=   {"Entries": [PutEventsRequestEntry, ...]}: the
         events an AWS service puts on the account's default bus (the Security Hub emulator's findings
         events); the only way in for `aws.*` sources, which PutEvents refuses as AWS does
  GET    /_emulator/events       {"Events": [...], "Deliveries": [...]}: each accepted event with the
         rules it matched (or why it was dropped), and each target delivery's outcome
  DELETE /_emulator/events       forget them
  GET    /_emulator/health       {"status": "ok"}
"""

import argparse
import json
import logging
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import requests  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

import delivery  # noqa: E402

log = logging.getLogger("eventbridge-emulator")
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "accept-encoding", "date"}


def _json(status, body, error_type=None):
    headers = {"x-amzn-ErrorType": error_type} if error_type else {}
    return Response(json.dumps(body, default=str), status=status, headers=headers,
                    content_type="application/x-amz-json-1.1")


def _error(status, code, message):
    return _json(status, {"__type": code, "message": message}, code)


def _control():
    return os.environ["EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT"].rstrip("/")


def _caller(request):
    """The caller's access key and region, from its signature."""
    m = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/", request.headers.get("Authorization", ""))
    return (m.group(1), m.group(2)) if m else ("emulator", "us-east-1")


def _entries(request):
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return None, _error(400, "ValidationException", "The request body is not valid JSON")
    entries = body.get("Entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= 10:
        count = len(entries) if isinstance(entries, list) else 0
        return None, _error(400, "ValidationException",
                            f"1 validation error detected: Value '{count}' at 'entries' failed to satisfy "
                            "constraint: Member must have length between 1 and 10")
    return entries, None


def put_events(request):
    entries, error = _entries(request)
    if error:
        return error
    access_key, region = _caller(request)
    control = delivery.client("events", _control(), access_key, region,
                              token=request.headers.get("X-Amz-Security-Token"))
    return _json(200, delivery.accept(control, entries, allow_aws_source=False))


def service_events(request):
    entries, error = _entries(request)
    if error:
        return error
    account, region = request.args.get("account"), request.args.get("region", "us-east-1")
    if not account:
        return _error(400, "ValidationException", "service-events needs ?account=")
    for entry in entries:
        entry.pop("EventBusName", None)  # a service puts its events on the account's default bus
    control = delivery.client("events", _control(), "emulator", region, account_header=account)
    return _json(200, delivery.accept(control, entries, allow_aws_source=True))


def forward(request):
    """Any other call, to moto as it came; moto's answer as it is."""
    url = _control() + request.full_path.rstrip("?")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
    out = requests.request(request.method, url, data=request.get_data(), headers=headers, timeout=120)
    keep = {k: v for k, v in out.headers.items() if k.lower() not in _HOP_BY_HOP | {"content-encoding", "server"}}
    return Response(out.content, status=out.status_code, headers=keep)


def _emulator(request):
    path = request.path
    if path == "/_emulator/health":
        return _json(200, {"status": "ok"})
    if path == "/_emulator/events" and request.method == "GET":
        return _json(200, delivery.recorded())
    if path == "/_emulator/events" and request.method == "DELETE":
        delivery.clear()
        return _json(200, {})
    if path == "/_emulator/service-events" and request.method == "POST":
        return service_events(request)
    return _error(404, "ResourceNotFoundException", f"No emulator endpoint {request.method} {path}")


def app(environ, start_response):
    request = Request(environ)
    try:
        if request.path.startswith("/_emulator/"):
            response = _emulator(request)
        elif request.headers.get("X-Amz-Target") == "AWSEvents.PutEvents":
            response = put_events(request)
        else:
            response = forward(request)
    except Exception as e:  # a bug here must still answer as AWS would
        log.exception("internal error")
        response = _error(500, "InternalException", f"emulator error: {e}")
    return response(environ, start_response)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", "-H", default="127.0.0.1")
    parser.add_argument("--port", "-p", type=int, default=4600)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for name in ("EVENTBRIDGE_EMULATOR_CONTROL_ENDPOINT", "EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT"):
        if not os.environ.get(name):
            parser.error(f"{name} must be set")
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"EventBridge emulator on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
