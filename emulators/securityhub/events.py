"""The EventBridge events Security Hub sends: recorded always, and handed to EventBridge when one is set:

- SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR (the project's EventBridge emulator, emulators/eventbridge): the
  events go in through its service-events endpoint, the way an AWS service puts its events on an
  account's default bus; from there they reach the targets of the rules they match.
- else SECHUB_EMULATOR_EVENTS_ENDPOINT (e.g. moto server): by PutEvents. moto takes an `aws.*` source
  from PutEvents, which AWS refuses to any caller; this stand-in is for tests that read the events
  from moto's own targets (SQS), never for the pipeline.
"""

import json
import logging
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

log = logging.getLogger("securityhub-emulator")

ASFF_IMPORTED = "Security Hub Findings - Imported"
OCSF_IMPORTED = "Findings Imported V2"

_lock = threading.Lock()
_recorded = []
_clients = {}


def _client(account, region):
    import boto3

    key = (account, region)
    if key not in _clients:
        client = boto3.client(
            "events",
            region_name=region,
            endpoint_url=os.environ["SECHUB_EMULATOR_EVENTS_ENDPOINT"],
            aws_access_key_id=os.environ.get("SECHUB_EMULATOR_EVENTS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=os.environ.get("SECHUB_EMULATOR_EVENTS_SECRET_ACCESS_KEY", "testing"),
        )

        # moto puts the event on the bus of the account this header names
        def add_account(request, **_):
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.events.PutEvents", add_account)
        _clients[key] = client
    return _clients[key]


def emit(account, region, detail_type, finding, resources):
    """Send one event with detail {"findings": [finding]}; record it with whether it was delivered."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "version": "0",
        "source": "aws.securityhub",
        "detail-type": detail_type,
        "account": account,
        "region": region,
        "time": now,
        "resources": resources,
        "detail": {"findings": [finding]},
        "delivered": False,
    }
    entry = {
        "Source": "aws.securityhub",
        "DetailType": detail_type,
        "Detail": json.dumps(event["detail"]),
        "Resources": resources,
    }
    if os.environ.get("SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR") or os.environ.get("SECHUB_EMULATOR_EVENTS_ENDPOINT"):
        try:
            out = _hand_over(account, region, entry)
            failed = [e for e in out.get("Entries", []) if e.get("ErrorCode")]
            if out.get("FailedEntryCount") or failed:
                event["error"] = json.dumps(failed)
                log.warning("EventBridge refused the %s event: %s", detail_type, event["error"])
            else:
                event["delivered"] = True
        except Exception as e:  # the emulator keeps serving when EventBridge is away
            event["error"] = str(e)
            log.warning("could not put the %s event to EventBridge: %s", detail_type, e)
    with _lock:
        _recorded.append(event)


def _hand_over(account, region, entry):
    emulator = os.environ.get("SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR")
    if not emulator:
        return _client(account, region).put_events(Entries=[entry])
    query = urllib.parse.urlencode({"account": account, "region": region})
    request = urllib.request.Request(f"{emulator.rstrip('/')}/_emulator/service-events?{query}",
                                     data=json.dumps({"Entries": [entry]}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"EventBridge emulator answered {e.code}: {e.read().decode(errors='replace')}")


def recorded():
    with _lock:
        return list(_recorded)


def clear():
    with _lock:
        _recorded.clear()
