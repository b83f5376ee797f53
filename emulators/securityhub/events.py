"""The EventBridge events Security Hub sends: recorded always, and put to an EventBridge endpoint when
SECHUB_EMULATOR_EVENTS_ENDPOINT is set (e.g. moto server's URL)."""

import json
import logging
import os
import threading
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
    if os.environ.get("SECHUB_EMULATOR_EVENTS_ENDPOINT"):
        entry = {
            "Source": "aws.securityhub",
            "DetailType": detail_type,
            "Detail": json.dumps(event["detail"]),
            "Resources": resources,
        }
        try:
            out = _client(account, region).put_events(Entries=[entry])
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


def recorded():
    with _lock:
        return list(_recorded)


def clear():
    with _lock:
        _recorded.clear()
