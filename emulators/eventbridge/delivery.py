"""EventBridge's delivery: an accepted event goes to the targets of every enabled rule of its bus whose
pattern it matches, each target asynchronously, with the target's retry policy and dead-letter queue.

The rules and targets are read from the control plane (moto) through the public API, as any client
sees them: ListRules and ListTargetsByRule on the event's bus, DISABLED rules skipped. Lambda targets
are invoked asynchronously (InvocationType Event) where they run (ministack), after the function's
resource policy is checked to let events.amazonaws.com invoke it for that rule; SQS and SNS targets
get the event as their message. A delivery that fails is retried when the error is retriable
(throttling, a 5xx, a lost connection) up to the target's MaximumRetryAttempts and
MaximumEventAgeInSeconds, and not at all when the function is missing or EventBridge is not allowed
to invoke it; then the event goes to the target's dead-letter queue with the attributes AWS documents
(RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS), and the
rule's FailedInvocations metric counts it. Retries are spaced in tenths of seconds, not AWS's
minutes: the emulator compresses time, not outcomes.
"""

import json
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The pinned ministack's event-pattern matcher and resource-policy evaluator. moto's matcher does not
# look into arrays of objects, and every Security Hub rule matches fields of detail.findings[].
from ministack.core.iam_evaluator import EvalContext, evaluate_resource_policy
from ministack.services.eventbridge import _matches_pattern_view, _pattern_event_view

log = logging.getLogger("eventbridge-emulator")

DEFAULT_RETRIES = 185
DEFAULT_MAX_AGE = 86400
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="delivery")
_lock = threading.Lock()
_events = []
_deliveries = []
_clients = {}
_session = boto3.session.Session()
_config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30)


class Failure(Exception):
    """A target invocation that failed: AWS's DLQ error code, the reason, and whether to retry."""

    def __init__(self, code, message, retriable=False):
        super().__init__(message)
        self.code, self.message, self.retriable = code, message, retriable


def client(service, endpoint, access_key, region, token=None, account_header=None):
    """A boto3 client, made once per key (client creation is slow and not thread-safe)."""
    key = (service, endpoint, access_key, region, token, account_header)
    with _lock:
        if key not in _clients:
            c = _session.client(service, region_name=region, endpoint_url=endpoint, config=_config,
                                aws_access_key_id=access_key, aws_secret_access_key="emulator",
                                aws_session_token=token)
            if account_header:
                # moto puts the call in the account this header names
                c.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
                    "x-moto-account-id", account_header))
            _clients[key] = c
        return _clients[key]


def targets_client(service, account, region):
    """A client of the service the targets run in (ministack), in `account`: ministack takes a
    12-digit access key for that account, as it gives its functions."""
    return client(service, os.environ["EVENTBRIDGE_EMULATOR_TARGETS_ENDPOINT"], account, region)


def _record(kind, item):
    with _lock:
        (_events if kind == "event" else _deliveries).append(item)


def recorded():
    with _lock:
        return {"Events": list(_events), "Deliveries": list(_deliveries)}


def clear():
    with _lock:
        _events.clear()
        _deliveries.clear()


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def entry_error(entry, allow_aws_source):
    """The PutEvents error of one entry, as AWS answers it, or None."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            return ("InvalidArgument", f"Parameter {member} is not valid. Reason: {member} is a required argument.")
    try:
        if not isinstance(json.loads(entry["Detail"]), dict):
            return ("MalformedDetail", "Detail is malformed.")
    except (TypeError, ValueError):
        return ("MalformedDetail", "Detail is malformed.")
    if entry["Source"].startswith("aws.") and not allow_aws_source:
        return ("NotAuthorizedForSourceException", "Not authorized for the source.")
    return None


def accept(control, entries, allow_aws_source):
    """PutEvents' answer for `entries`; each accepted one is delivered in the background through
    `control` (the caller's view of the control plane)."""
    results, failed = [], 0
    for entry in entries:
        error = entry_error(entry, allow_aws_source)
        if error:
            failed += 1
            results.append({"ErrorCode": error[0], "ErrorMessage": error[1]})
            continue
        event_id = str(uuid.uuid4())
        results.append({"EventId": event_id})
        _pool.submit(_guarded, _route, control, dict(entry), event_id)
    return {"FailedEntryCount": failed, "Entries": results}


def _guarded(fn, *args):
    try:
        fn(*args)
    except Exception:  # a delivery bug must show in the log, not vanish with the thread
        log.exception("delivery failed")


def _pages(call, key, **params):
    token = None
    while True:
        out = call(**params, **({"NextToken": token} if token else {}))
        yield from out.get(key, [])
        token = out.get("NextToken")
        if not token:
            return


def _event_time(entry):
    t = entry.get("Time")
    if isinstance(t, (int, float)):
        return int(t)
    if isinstance(t, str) and t:
        try:
            return int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())
        except ValueError:
            pass
    return int(time.time())


def _route(control, entry, event_id):
    bus_ref = entry.get("EventBusName") or "default"
    seen = {"EventId": event_id, "Source": entry["Source"], "DetailType": entry["DetailType"],
            "EventBusName": bus_ref, "Time": _now(), "MatchedRules": []}
    try:
        bus = control.describe_event_bus(Name=bus_ref)
    except ClientError as e:
        # AWS accepts an event for a bus that does not exist and drops it (no error in the answer)
        seen["Dropped"] = e.response["Error"].get("Message", str(e))
        _record("event", seen)
        return
    _, _, _, region, account, resource = bus["Arn"].split(":", 5)
    name = resource.split("/", 1)[1]
    event = {"EventId": event_id, "Source": entry["Source"], "DetailType": entry["DetailType"],
             "Detail": entry["Detail"], "Resources": entry.get("Resources") or [], "Time": _event_time(entry),
             "Account": account, "Region": region, "EventBusName": name}
    view = _pattern_event_view(event)
    matched = []
    for rule in _pages(control.list_rules, "Rules", EventBusName=name):
        if rule.get("State") == "DISABLED" or not rule.get("EventPattern"):
            continue
        if _matches_pattern_view(rule["EventPattern"], view, f"rule {rule['Name']}"):
            matched.append(rule)
    seen["MatchedRules"] = [r["Arn"] for r in matched]
    _record("event", seen)
    for rule in matched:
        _metric(account, region, name, rule["Name"], "MatchedEvents")
        for target in _pages(control.list_targets_by_rule, "Targets", Rule=rule["Name"], EventBusName=name):
            _pool.submit(_guarded, _deliver, rule, target, view, (account, region, name))


def _payload(target, view):
    if target.get("InputTransformer") or target.get("InputPath"):
        raise Failure("INVALID_PARAMETER", "the emulator does not apply InputTransformer or InputPath")
    if target.get("Input"):
        return target["Input"]
    return json.dumps(view.event_with_detail())


def _deliver(rule, target, view, where):
    account, region, bus = where
    policy = target.get("RetryPolicy") or {}
    max_retries = policy.get("MaximumRetryAttempts", DEFAULT_RETRIES)
    max_age = policy.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE)
    started, retries, exhausted = time.monotonic(), 0, None
    outcome = {"EventId": view.envelope()["id"], "RuleArn": rule["Arn"], "TargetId": target["Id"],
               "TargetArn": target["Arn"], "Time": _now()}
    while True:
        try:
            _invoke(target["Arn"], _payload(target, view), rule["Arn"], account, region)
            failure = None
            break
        except Failure as e:
            failure = e
        if not failure.retriable:
            break
        if retries >= max_retries:
            exhausted = "MaximumRetryAttempts"
            break
        if time.monotonic() - started >= max_age:
            exhausted = "MaximumEventAgeInSeconds"
            break
        time.sleep(min(0.1 * 2 ** retries, 2.0))
        retries += 1
    _metric(account, region, bus, rule["Name"], "Invocations")
    outcome.update(Attempts=retries + 1, Outcome="delivered" if failure is None else "failed")
    if failure is not None:
        outcome.update(ErrorCode=failure.code, ErrorMessage=failure.message)
        if exhausted:
            outcome["ExhaustedRetryCondition"] = exhausted
        _metric(account, region, bus, rule["Name"], "FailedInvocations")
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dlq:
            sent = _to_dead_letter(dlq, view, outcome, account, region)
            outcome["DeadLetter"] = "sent" if sent else "failed"
            _metric(account, region, bus, rule["Name"],
                    "InvocationsSentToDLQ" if sent else "InvocationsFailedToBeSentToDLQ")
        log.warning("rule %s could not deliver event %s to %s: %s %s", rule["Arn"], outcome["EventId"],
                    target["Arn"], failure.code, failure.message)
    _record("delivery", outcome)


def _client_failure(e):
    """A target service's error as EventBridge classes it."""
    if isinstance(e, BotoCoreError):
        return Failure("CONNECTION_FAILURE", str(e), retriable=True)
    code = e.response["Error"].get("Code", "")
    message = e.response["Error"].get("Message", "") or code
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code == "ResourceNotFoundException" or "NonExistent" in code or "NotFound" in code:
        return Failure("NO_RESOURCE", message)
    if code in ("AccessDeniedException", "AccessDenied", "AuthorizationError"):
        return Failure("NO_PERMISSIONS", message)
    if code in ("TooManyRequestsException", "ThrottlingException", "Throttling") or status == 429:
        return Failure("THROTTLING", message, retriable=True)
    if status >= 500:
        return Failure("SDK_CLIENT_ERROR", message, retriable=True)
    return Failure("SDK_CLIENT_ERROR", message)


def _invoke(arn, payload, rule_arn, account, region):
    service = arn.split(":")[2]
    target_region, target_account = arn.split(":")[3:5]
    try:
        if service == "lambda":
            lam = targets_client("lambda", target_account, target_region)
            _may_invoke(lam, arn, rule_arn, account, region)
            lam.invoke(FunctionName=arn, InvocationType="Event", Payload=payload.encode())
        elif service == "sqs":
            sqs = targets_client("sqs", target_account, target_region)
            url = sqs.get_queue_url(QueueName=arn.split(":")[5], QueueOwnerAWSAccountId=target_account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=payload)
        elif service == "sns":
            targets_client("sns", target_account, target_region).publish(TopicArn=arn, Message=payload)
        else:
            raise Failure("INVALID_PARAMETER", f"the emulator delivers to Lambda, SQS and SNS targets, not {arn}")
    except (ClientError, BotoCoreError) as e:
        raise _client_failure(e) from e


def _may_invoke(lam, arn, rule_arn, account, region):
    """Raise unless the function's resource policy lets events.amazonaws.com invoke it for this rule."""
    try:
        policy = lam.get_policy(FunctionName=arn)["Policy"]
    except ClientError as e:
        if e.response["Error"].get("Code") != "ResourceNotFoundException":
            raise
        lam.get_function(FunctionName=arn)  # a missing function raises ResourceNotFoundException here
        policy = None
    ctx = EvalContext(principal_arn="*", principal_type="Service", principal_account="",
                      action="lambda:InvokeFunction", resource_arn=arn, region=region, source_ip="",
                      secure_transport=True,
                      service_context={"aws:sourcearn": rule_arn, "aws:sourceaccount": account})
    if not policy or evaluate_resource_policy(policy, ctx, service="events.amazonaws.com").decision != "Allow":
        raise Failure("NO_PERMISSIONS", f"the resource policy of {arn} does not let events.amazonaws.com "
                                        f"invoke it for {rule_arn}")


def _to_dead_letter(queue_arn, view, outcome, account, region):
    attrs = {"RULE_ARN": outcome["RuleArn"], "TARGET_ARN": outcome["TargetArn"],
             "ERROR_CODE": outcome["ErrorCode"], "ERROR_MESSAGE": outcome["ErrorMessage"][:1000],
             "RETRY_ATTEMPTS": str(outcome["Attempts"] - 1)}
    if outcome.get("ExhaustedRetryCondition"):
        attrs["EXHAUSTED_RETRY_CONDITION"] = outcome["ExhaustedRetryCondition"]
    _, _, _, q_region, q_account, name = queue_arn.split(":", 5)
    try:
        sqs = targets_client("sqs", q_account, q_region)
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=q_account)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(view.event_with_detail()),
                         MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attrs.items()})
        return True
    except (ClientError, BotoCoreError) as e:
        log.warning("could not send to the dead-letter queue %s: %s", queue_arn, e)
        return False


def _metric(account, region, bus, rule, name):
    """One data point of the rule's AWS/Events metric, put in the background."""
    _pool.submit(_put_metric, account, region, bus, rule, name)


def _put_metric(account, region, bus, rule, name):
    # a rule on a custom bus has the bus as a dimension too
    dims = [{"Name": "RuleName", "Value": rule}]
    if bus != "default":
        dims.insert(0, {"Name": "EventBusName", "Value": bus})
    try:
        targets_client("cloudwatch", account, region).put_metric_data(
            Namespace="AWS/Events", MetricData=[{"MetricName": name, "Dimensions": dims, "Value": 1.0,
                                                 "Unit": "Count"}])
    except (ClientError, BotoCoreError) as e:
        log.warning("could not put the %s metric of rule %s: %s", name, rule, e)
