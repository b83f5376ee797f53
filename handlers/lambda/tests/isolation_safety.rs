//! Isolation never leaves an instance worse than it found it, on moto: EC2's own failures are
//! injected by the testkit proxy in EC2's error format where AWS's answer is the point (a refused
//! move, termination protection refused as for Spot instances), or produced by moto itself (a
//! group another run made first).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::{AttributeValue, Filter, InstanceAttributeName};
use secauto_handlers::remediate::{
    Executor, Failed, Outcome, NOT_CUT, QUARANTINE_GROUP, UNTRACK_GROUP,
};
use secauto_testkit::proxy::{Message, Proxy, Shim};

mod common;
use common::*;

/// EC2's answer when the caller may not do something (HTTP 403, Query protocol's XML).
fn unauthorized() -> Message {
    Message {
        start: "HTTP/1.1 403 Forbidden".into(),
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>7f1b2c3d</RequestID></Response>"#
            .to_vec(),
    }
}

fn body(request: &Message) -> String {
    String::from_utf8_lossy(&request.body).into_owned()
}

/// The EC2 actions the proxy saw, in order.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Shim for Seen {
    fn before(&self, request: &Message) {
        self.note(request);
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

impl Seen {
    fn note(&self, request: &Message) {
        if let Some(a) = body(request)
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
        {
            self.0.lock().unwrap().push(a.to_string());
        }
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// Refuses moves of an interface to any group but `keep` after the first `pass` moves: the move
/// to the all-traffic group works, the one to quarantine is refused (`fail` times, or always).
struct RefuseMoves {
    keep: String,
    pass: usize,
    fail: usize,
    moves: AtomicUsize,
    refused: AtomicUsize,
    seen: Seen,
}

impl Shim for RefuseMoves {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        self.seen.note(request);
        let b = body(request);
        if !b.contains("Action=ModifyNetworkInterfaceAttribute")
            || !b.contains("SecurityGroupId.1=")
        {
            return None;
        }
        let n = self.moves.fetch_add(1, Ordering::SeqCst);
        let to_keep = b.contains(&format!("SecurityGroupId.1={}", self.keep));
        if n < self.pass || to_keep || self.refused.load(Ordering::SeqCst) >= self.fail {
            return None;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Some(unauthorized())
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

fn through(a: &Aws, shim: Arc<dyn Shim>) -> (Proxy, aws_sdk_ec2::Client) {
    let proxy = Proxy::start(&a.url, Some(shim));
    let ec2 = aws_sdk_ec2::Client::from_conf(
        a.ec2.config().to_builder().endpoint_url(&proxy.url).build(),
    );
    (proxy, ec2)
}

/// Isolate `instance` (taking evidence snapshots when `snapshots`) with EC2 reached through a
/// proxy answering as `shim` says.
async fn isolate_through(
    a: &Aws,
    shim: Arc<dyn Shim>,
    instance: &str,
    snapshots: bool,
) -> Result<Outcome, Failed> {
    let (_proxy, ec2) = through(a, shim);
    Executor {
        ec2: &ec2,
        ..exec(a, false)
    }
    .isolate_instance(instance, snapshots)
    .await
}

/// The groups of each interface of the instance, as moto holds them.
async fn groups(a: &Aws, instance: &str) -> Vec<Vec<String>> {
    let enis = a
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(instance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    enis.network_interfaces()
        .iter()
        .map(|e| {
            e.groups()
                .iter()
                .filter_map(|g| g.group_id().map(String::from))
                .collect()
        })
        .collect()
}

async fn group_id(a: &Aws, vpc: &str, name: &str) -> Option<String> {
    let found = a
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .unwrap();
    found
        .security_groups()
        .first()
        .and_then(|g| g.group_id().map(String::from))
}

/// Isolation of the fixture's instance while moves to any group but its own are refused `fail`
/// times after the first (to the all-traffic group) went through.
async fn isolate_refusing(
    fail: usize,
) -> (Aws, Fixture, Arc<RefuseMoves>, Result<Outcome, Failed>) {
    isolate_refusing_all_but(fail, None).await
}

/// As [`isolate_refusing`], the move back to its own group refused too when `keep` names no group.
async fn isolate_refusing_all_but(
    fail: usize,
    keep: Option<&str>,
) -> (Aws, Fixture, Arc<RefuseMoves>, Result<Outcome, Failed>) {
    isolate_refusing_from(1, fail, keep).await
}

/// As [`isolate_refusing_all_but`], the first `pass` moves let through.
async fn isolate_refusing_from(
    pass: usize,
    fail: usize,
    keep: Option<&str>,
) -> (Aws, Fixture, Arc<RefuseMoves>, Result<Outcome, Failed>) {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(RefuseMoves {
        keep: keep.map_or_else(|| f.sg.clone(), String::from),
        pass,
        fail,
        moves: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        seen: Seen::default(),
    });
    let res = isolate_through(&a, shim.clone(), &f.instance, false).await;
    (a, f, shim, res)
}

#[tokio::test]
async fn a_refused_move_to_quarantine_never_leaves_the_all_traffic_group() {
    let (a, f, shim, res) = isolate_refusing(usize::MAX).await;
    let failed = res.expect_err("quarantine was refused");
    assert!(shim.refused.load(Ordering::SeqCst) >= 2, "retried");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(
        groups(&a, &f.instance).await,
        vec![vec![f.sg.clone()]],
        "moved back to its own group, never left in {untrack}"
    );
    let text = format!("{:#}", failed.error);
    assert!(text.contains("moved back to its groups"), "{text}");
    assert!(text.contains("NOT isolated"), "{text}");
    // Back in its groups, not isolated: its connection-tracking timeouts are put back too (EC2's
    // defaults: the fixture's interface had none of its own).
    assert!(
        failed.outcome.steps.iter().any(|s| s.starts_with("restore")
            && s.contains("432000 s (TCP), 180 s (UDP streams), 30 s (UDP)")
            && s.contains("Nitro v6 instance type's established-TCP default is 350 s")),
        "{:?}",
        failed.outcome.steps
    );
    assert_eq!(
        rules_of(&a, &untrack).await,
        (0, 0),
        "{untrack} closed again"
    );
    let note = secauto_handlers::remediation::verdict(
        "isolate-instance",
        secauto_handlers::env::Mode::Enforce,
        &Err(failed),
    )
    .2;
    assert!(
        note.contains("isolation cuts TCP/UDP"),
        "caveats in the note: {note}"
    );
}

/// Refuses AuthorizeSecurityGroupIngress, as an SCP or a permission boundary may.
struct RefuseAuthorize;

impl Shim for RefuseAuthorize {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        body(request)
            .contains("Action=AuthorizeSecurityGroupIngress")
            .then(unauthorized)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[tokio::test]
async fn when_the_all_traffic_group_cannot_be_opened_the_interface_goes_straight_to_quarantine() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = isolate_through(&a, Arc::new(RefuseAuthorize), &f.instance, false)
        .await
        .expect("contained all the same");
    assert!(
        out.steps
            .iter()
            .any(|s| s.contains("goes straight to quarantine")),
        "{out:?}"
    );
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
    // Contained, but an active session survives a move straight to quarantine: not RESOLVED.
    assert!(!out.compliant, "{out:?}");
    let (workflow, _, note) = secauto_handlers::remediation::verdict(
        "isolate-instance",
        secauto_handlers::env::Mode::Enforce,
        &Ok(out.clone()),
    );
    assert_eq!(workflow, "NOTIFIED", "{note}");
    assert!(note.contains("until the instance is stopped"), "{note}");
}

/// Refuses AuthorizeSecurityGroupEgress only: the all-traffic group's opening fails half-way, its
/// inbound rule already added.
struct RefuseAuthorizeEgress;

impl Shim for RefuseAuthorizeEgress {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        body(request)
            .contains("Action=AuthorizeSecurityGroupEgress")
            .then(unauthorized)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// A new all-traffic group whose opening fails half-way (inbound allowed, outbound refused) is
/// closed all the same: it was recorded as opened before its first rule.
#[tokio::test]
async fn a_half_opened_all_traffic_group_is_closed() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = isolate_through(&a, Arc::new(RefuseAuthorizeEgress), &f.instance, false)
        .await
        .expect("contained all the same");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &untrack).await, (0, 0), "{out:?}");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
}

/// Answers group moves after the first (into the all-traffic group) with EC2's throttling error,
/// `throttles` times: the account's other workloads share EC2's request limits.
struct ThrottleMoves {
    throttles: usize,
    moves: AtomicUsize,
    throttled: AtomicUsize,
}

impl Shim for ThrottleMoves {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let b = body(request);
        if !b.contains("Action=ModifyNetworkInterfaceAttribute")
            || !b.contains("SecurityGroupId.1=")
        {
            return None;
        }
        if self.moves.fetch_add(1, Ordering::SeqCst) == 0
            || self.throttled.load(Ordering::SeqCst) >= self.throttles
        {
            return None;
        }
        self.throttled.fetch_add(1, Ordering::SeqCst);
        Some(Message {
            start: "HTTP/1.1 503 Service Unavailable".into(),
            headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
            body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>5e6f</RequestID></Response>"#
                .to_vec(),
        })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// Under EC2's throttling (RequestLimitExceeded, 8 answers in a row — more than a fixed few
/// quick attempts survive), the move out of the all-traffic group is tried for its whole budget:
/// the interface ends in quarantine, the all-traffic group closed.
#[tokio::test]
async fn mocked_a_throttled_move_out_of_the_all_traffic_group_is_retried_until_it_lands() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(ThrottleMoves {
        throttles: 8,
        moves: AtomicUsize::new(0),
        throttled: AtomicUsize::new(0),
    });
    let out = isolate_through(&a, shim.clone(), &f.instance, false)
        .await
        .unwrap_or_else(|e| panic!("{:#}: {:?}", e.error, e.outcome));
    assert_eq!(shim.throttled.load(Ordering::SeqCst), 8);
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &untrack).await, (0, 0));
    assert!(out.compliant, "{out:?}");
}

/// Inbound rules of a group, and its outbound rules to IPv4 ranges. (moto 5.2.5 cannot revoke
/// an IPv6 egress rule: it keeps `-1 ::/0` whatever is sent, so that one is not counted.)
async fn rules_of(a: &Aws, id: &str) -> (usize, usize) {
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .unwrap();
    let g = &g.security_groups()[0];
    let egress_v4 = g
        .ip_permissions_egress()
        .iter()
        .filter(|p| !p.ip_ranges().is_empty())
        .count();
    (g.ip_permissions().len(), egress_v4)
}

#[tokio::test]
async fn when_even_the_move_back_is_refused_the_all_traffic_group_is_closed() {
    let (a, f, _shim, res) = isolate_refusing_all_but(usize::MAX, Some("sg-none")).await;
    let failed = res.expect_err("every move after the first was refused");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(
        groups(&a, &f.instance).await,
        vec![vec![untrack.clone()]],
        "stuck in the all-traffic group"
    );
    assert_eq!(
        rules_of(&a, &untrack).await,
        (0, 0),
        "which allows nothing any more: the interface is contained"
    );
    let text = format!("{:#}", failed.error);
    assert!(text.contains("by hand"), "{text}");
}

/// Refuses every move of an interface after the first (into the all-traffic group) until the run
/// closes that group (its first RevokeSecurityGroupIngress after a move): the move to quarantine
/// and the move back both fail for their whole budgets.
#[derive(Default)]
struct RefuseMovesUntilClosed {
    moves: AtomicUsize,
    refused: AtomicUsize,
    closed: std::sync::atomic::AtomicBool,
}

impl Shim for RefuseMovesUntilClosed {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let b = body(request);
        if b.contains("Action=RevokeSecurityGroupIngress") && self.moves.load(Ordering::SeqCst) > 0
        {
            self.closed.store(true, Ordering::SeqCst);
        }
        if !b.contains("Action=ModifyNetworkInterfaceAttribute")
            || !b.contains("SecurityGroupId.1=")
        {
            return None;
        }
        if self.moves.fetch_add(1, Ordering::SeqCst) == 0 || self.closed.load(Ordering::SeqCst) {
            return None;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Some(unauthorized())
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// The contract's repair: when the move to quarantine and the move back were both refused for
/// their whole budgets, the all-traffic group is closed, and the run's repair reads the instance
/// again and moves the interface still in that group on to quarantine once EC2 takes it — the run
/// still fails, and says what the repair did.
#[tokio::test]
async fn the_repair_moves_an_interface_left_in_the_all_traffic_group_on_to_quarantine() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(RefuseMovesUntilClosed::default());
    let failed = isolate_through(&a, shim.clone(), &f.instance, false)
        .await
        .expect_err("the moves were refused");
    assert!(shim.refused.load(Ordering::SeqCst) >= 4, "both tried again");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]], "swept");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &untrack).await, (0, 0), "closed");
    assert!(
        failed
            .outcome
            .steps
            .iter()
            .any(|s| s.starts_with("repair:") && s.contains("was still in the all-traffic group")),
        "{:?}",
        failed.outcome.steps
    );
}

/// Refuses every move of the first interface that enters the all-traffic group, after that entry;
/// counts the all-traffic group's openings after its first close.
#[derive(Default)]
struct StrandFirst {
    first: Mutex<Option<String>>,
    closed: std::sync::atomic::AtomicBool,
    reopened: AtomicUsize,
}

impl Shim for StrandFirst {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let b = body(request);
        let mut first = self.first.lock().unwrap();
        if b.contains("Action=RevokeSecurityGroupIngress") && first.is_some() {
            self.closed.store(true, Ordering::SeqCst);
        }
        if b.contains("Action=AuthorizeSecurityGroup") && self.closed.load(Ordering::SeqCst) {
            self.reopened.fetch_add(1, Ordering::SeqCst);
        }
        if !b.contains("Action=ModifyNetworkInterfaceAttribute")
            || !b.contains("SecurityGroupId.1=")
        {
            return None;
        }
        let eni = b
            .split('&')
            .find_map(|kv| kv.strip_prefix("NetworkInterfaceId="))
            .unwrap_or_default()
            .to_string();
        match first.as_deref() {
            None => {
                *first = Some(eni);
                None
            }
            Some(f) if f == eni => Some(unauthorized()),
            Some(_) => None,
        }
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// Once a move failed in a VPC, the VPC's later interfaces go straight to quarantine: the
/// all-traffic group, closed over the interface that could not leave it, is never opened again.
#[tokio::test]
async fn after_a_failed_move_the_vpcs_other_interfaces_go_straight_to_quarantine() {
    let a = aws();
    let f = fixture(&a, false).await;
    let eni2 = a
        .ec2
        .create_network_interface()
        .subnet_id(&f.subnet)
        .groups(&f.sg)
        .send()
        .await
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    a.ec2
        .attach_network_interface()
        .network_interface_id(&eni2)
        .instance_id(&f.instance)
        .device_index(1)
        .send()
        .await
        .unwrap();
    let shim = Arc::new(StrandFirst::default());
    let failed = isolate_through(&a, shim.clone(), &f.instance, false)
        .await
        .expect_err("one interface could not be moved");
    let stranded = shim.first.lock().unwrap().clone().unwrap();
    assert!(
        failed
            .outcome
            .steps
            .iter()
            .any(|s| s.contains("straight to") && !s.contains(&stranded)),
        "{:?}",
        failed.outcome.steps
    );
    assert_eq!(
        shim.reopened.load(Ordering::SeqCst),
        0,
        "never opened again"
    );
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &untrack).await, (0, 0), "closed");
}

/// Slows every EC2 write to 2.5 s (under the quick client's 3 s budget) and refuses every move of
/// an interface after the first: the whole repair path, each call near its worst case.
#[derive(Default)]
struct SlowAndRefusing {
    moves: AtomicUsize,
    refused: AtomicUsize,
}

impl Shim for SlowAndRefusing {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let b = body(request);
        let writes = [
            "Action=Modify",
            "Action=Revoke",
            "Action=Authorize",
            "Action=CreateTags",
            "Action=CreateSecurityGroup",
        ];
        if writes.iter().any(|w| b.contains(w)) {
            std::thread::sleep(std::time::Duration::from_millis(2500));
        }
        let moves_group = b.contains("Action=ModifyNetworkInterfaceAttribute")
            && b.contains("SecurityGroupId.1=");
        let refuse = moves_group && self.moves.fetch_add(1, Ordering::SeqCst) > 0;
        if refuse {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        refuse.then(unauthorized)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// The time budget holds: with 100 s left (just over the 65 s a pass needs once the groups are made
/// and recorded — eleven writes at 2.5 s each, the new quarantine group's outbound rule revoked by
/// content among them), every write slow and every move out of the
/// all-traffic group refused, the pass is taken and fails (the moves out refused), and the run —
/// its repair, its close, its evidence steps — ends before Lambda's deadline with the group closed.
#[tokio::test]
async fn mocked_a_failed_pass_under_slow_ec2_ends_before_the_deadline_with_the_group_closed() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(SlowAndRefusing::default());
    let (_proxy, ec2) = through(&a, shim.clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(100);
    let res = Executor {
        ec2: &ec2,
        deadline: Some(deadline),
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await;
    let late = std::time::Instant::now().saturating_duration_since(deadline);
    assert!(late.is_zero(), "{late:?} past the deadline: {res:?}");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP)
        .await
        .unwrap_or_else(|| panic!("the pass never started: {res:?}"));
    assert_eq!(rules_of(&a, &untrack).await, (0, 0), "closed: {res:?}");
    assert!(
        shim.refused.load(Ordering::SeqCst) >= 2,
        "the pass was taken and its moves out refused: {res:?}"
    );
}

/// When the move into the all-traffic group is refused (a group just made and not yet visible to
/// EC2, throttling), the interface never entered it: it goes straight to quarantine — contained,
/// not moved back to its groups uncontained.
#[tokio::test]
async fn a_refused_move_into_the_all_traffic_group_goes_straight_to_quarantine() {
    let (a, f, shim, res) = isolate_refusing_from(0, 1, Some("sg-none")).await;
    let out = res.expect("contained");
    assert_eq!(shim.refused.load(Ordering::SeqCst), 1);
    let quarantine = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![quarantine]]);
    assert!(
        out.steps.iter().any(
            |s| s.starts_with("could not move") && s.contains("it goes straight to quarantine")
        ),
        "{:?}",
        out.steps
    );
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &untrack).await, (0, 0), "closed");
}

/// Counts AuthorizeSecurityGroupIngress/Egress calls.
#[derive(Default)]
struct CountAuthorize(AtomicUsize);

impl Shim for CountAuthorize {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        if body(request).contains("Action=AuthorizeSecurityGroup") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        None
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// A failed run left the interface in the (closed) all-traffic group — the move out and the move
/// back both refused — and fails; Lambda runs the event again. The retry never opens the group
/// over the stranded interface (no Authorize at all): the interface goes straight to quarantine.
#[tokio::test]
async fn a_retry_after_a_stranded_interface_never_opens_the_group_over_it() {
    let (a, f, _shim, res) = isolate_refusing_all_but(usize::MAX, Some("sg-none")).await;
    res.expect_err("every move after the first was refused");
    let untrack = group_id(&a, &f.vpc, UNTRACK_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![untrack.clone()]]);
    let count = Arc::new(CountAuthorize::default());
    let out = isolate_through(&a, count.clone(), &f.instance, false)
        .await
        .expect("the retry contains it");
    assert_eq!(count.0.load(Ordering::SeqCst), 0, "{:?}", out.steps);
    assert!(!out.compliant, "its connections were not cut: {out:?}");
    let quarantine = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![quarantine]]);
    assert_eq!(rules_of(&a, &untrack).await, (0, 0));
}

/// Forwards every request; answers a revoke of the quarantine group's rules with EC2's
/// InvalidPermission.NotFound, as when another isolation in the VPC revoked them a moment before.
struct RevokedFirst;

impl Shim for RevokedFirst {
    fn respond(&self, request: &Message, response: &mut Message) {
        if body(request).contains("Action=RevokeSecurityGroupEgress") {
            *response = Message {
                start: "HTTP/1.1 400 Bad Request".into(),
                headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
                body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidPermission.NotFound</Code><Message>The specified rule does not exist in this security group.</Message></Error></Errors><RequestID>1a2b</RequestID></Response>"#
                    .to_vec(),
            };
        }
    }
}

#[tokio::test]
async fn a_rule_another_isolation_revoked_first_is_done_not_an_error() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = isolate_through(&a, Arc::new(RevokedFirst), &f.instance, false)
        .await
        .expect("isolation goes on");
    assert!(out.compliant, "{out:?}");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q.clone()]]);
    assert_eq!(rules_of(&a, &q).await, (0, 0));
}

#[tokio::test]
async fn a_move_to_quarantine_refused_once_is_retried_and_isolates() {
    let (a, f, shim, res) = isolate_refusing(1).await;
    let out = res.unwrap();
    assert_eq!(shim.refused.load(Ordering::SeqCst), 1);
    assert!(out.compliant, "{out:?}");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
}

/// Refuses termination protection as EC2 does for a Spot instance, and notes every action.
#[derive(Default)]
struct RefuseTerminationProtection {
    seen: Seen,
}

impl Shim for RefuseTerminationProtection {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        self.seen.note(request);
        let b = body(request);
        (b.contains("Action=ModifyInstanceAttribute") && b.contains("DisableApiTermination"))
            .then(unauthorized)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[tokio::test]
async fn the_network_is_contained_first_and_a_refused_evidence_step_does_not_stop_it() {
    let a = aws();
    let f = fixture(&a, false).await;
    a.ec2
        .modify_instance_attribute()
        .instance_id(&f.instance)
        .instance_initiated_shutdown_behavior(AttributeValue::builder().value("terminate").build())
        .send()
        .await
        .unwrap();
    let shim = Arc::new(RefuseTerminationProtection::default());
    let out = isolate_through(&a, shim.clone(), &f.instance, true)
        .await
        .unwrap();
    assert!(out.compliant, "{out:?}");
    assert!(
        out.steps
            .iter()
            .any(|s| s.starts_with("evidence step failed (termination protection)")),
        "{out:?}"
    );
    assert!(
        out.steps.iter().any(|s| s.starts_with("snapshot ")),
        "{out:?}"
    );
    let seen = shim.seen.all();
    let last_move = seen
        .iter()
        .rposition(|a| a == "ModifyNetworkInterfaceAttribute")
        .unwrap();
    let first_evidence = seen
        .iter()
        .position(|a| a == "ModifyInstanceAttribute" || a == "CreateSnapshot")
        .unwrap();
    assert!(last_move < first_evidence, "containment first: {seen:?}");
    let shutdown = a
        .ec2
        .describe_instance_attribute()
        .instance_id(&f.instance)
        .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
        .send()
        .await
        .unwrap();
    assert_eq!(
        shutdown
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value()),
        Some("stop"),
        "a shutdown from inside stops it"
    );
}

#[tokio::test]
async fn connection_tracking_timeouts_are_lowered_and_what_is_not_cut_is_said() {
    let a = aws();
    let f = fixture(&a, false).await;
    let bodies = Arc::new(Bodies::default());
    let out = isolate_through(&a, bodies.clone(), &f.instance, false)
        .await
        .unwrap();
    let sent = bodies.0.lock().unwrap().clone();
    let timeouts = sent
        .iter()
        .find(|b| b.contains("ConnectionTrackingSpecification"))
        .unwrap_or_else(|| panic!("no timeouts set: {sent:?}"));
    for want in [
        "ConnectionTrackingSpecification.TcpEstablishedTimeout=60",
        "ConnectionTrackingSpecification.UdpStreamTimeout=60",
        "ConnectionTrackingSpecification.UdpTimeout=30",
    ] {
        assert!(timeouts.contains(want), "{want}: {timeouts}");
    }
    assert!(out.caveats.contains(&NOT_CUT.to_string()), "{out:?}");
    let (_, _, note) = secauto_handlers::remediation::verdict(
        "isolate-instance",
        secauto_handlers::env::Mode::Enforce,
        &Ok(out),
    );
    assert!(
        note.chars()
            .take(512)
            .collect::<String>()
            .contains("not ICMP"),
        "{note}"
    );
}

/// Keeps every request body.
#[derive(Default)]
struct Bodies(Mutex<Vec<String>>);

impl Shim for Bodies {
    fn before(&self, request: &Message) {
        self.0.lock().unwrap().push(body(request));
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// A second interface of `instance`, in `subnet`: its id.
async fn second_interface(a: &Aws, instance: &str, subnet: &str) -> String {
    let eni = a
        .ec2
        .create_network_interface()
        .subnet_id(subnet)
        .send()
        .await
        .unwrap();
    let eni = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();
    a.ec2
        .attach_network_interface()
        .network_interface_id(&eni)
        .instance_id(instance)
        .device_index(1)
        .send()
        .await
        .unwrap();
    eni
}

/// Two interfaces in one VPC: the all-traffic group is closed after the first one's pass, before
/// any call for the second (which may be slow under throttling), and opened again for it — it is
/// never left world-open while nothing passes through it.
#[tokio::test]
async fn the_all_traffic_group_is_closed_between_two_interfaces_passes() {
    let a = aws();
    let f = fixture(&a, false).await;
    second_interface(&a, &f.instance, &f.subnet).await;
    let seen = Arc::new(Seen::default());
    let out = isolate_through(&a, seen.clone(), &f.instance, false)
        .await
        .unwrap();
    assert!(out.compliant, "{out:?}");
    let calls = seen.all();
    let opens: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| *c == "AuthorizeSecurityGroupIngress")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(opens.len(), 2, "opened for each pass: {calls:?}");
    assert!(
        calls[opens[0]..opens[1]]
            .iter()
            .any(|c| c == "RevokeSecurityGroupIngress"),
        "closed in between: {calls:?}"
    );
}

#[tokio::test]
async fn an_interface_in_another_vpc_is_quarantined_in_its_own_vpc() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (vpc2, subnet2) = vpc_with_subnet(&a, "10.9").await;
    second_interface(&a, &f.instance, &subnet2).await;
    let out = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
    assert!(out.compliant, "{out:?}");
    let q1 = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    let q2 = group_id(&a, &vpc2, QUARANTINE_GROUP).await.unwrap();
    assert_ne!(q1, q2);
    let mut got = groups(&a, &f.instance).await;
    got.sort();
    let mut want = vec![vec![q1], vec![q2]];
    want.sort();
    assert_eq!(
        got, want,
        "each interface in its own VPC's quarantine group"
    );
}

/// Another isolation in the same VPC makes the quarantine group just before this one asks: moto
/// then answers this run's CreateSecurityGroup with `InvalidGroup.Duplicate`, as EC2 does.
struct AnotherRunFirst {
    url: String,
    vpc: String,
    done: AtomicUsize,
}

impl Shim for AnotherRunFirst {
    fn before(&self, request: &Message) {
        let b = body(request);
        if b.contains("Action=CreateSecurityGroup")
            && b.contains(&format!("GroupName={QUARANTINE_GROUP}"))
            && self.done.fetch_add(1, Ordering::SeqCst) == 0
        {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let other = aws_at(&self.url, "testing", "testing");
            rt.block_on(
                other
                    .ec2
                    .create_security_group()
                    .group_name(QUARANTINE_GROUP)
                    .description("made by another isolation")
                    .vpc_id(&self.vpc)
                    .tag_specifications(ours())
                    .send(),
            )
            .unwrap();
        }
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[tokio::test]
async fn two_first_isolations_in_one_vpc_share_the_group() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(AnotherRunFirst {
        url: a.url.clone(),
        vpc: f.vpc.clone(),
        done: AtomicUsize::new(0),
    });
    let out = isolate_through(&a, shim.clone(), &f.instance, false)
        .await
        .unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(shim.done.load(Ordering::SeqCst), 1, "the race happened");
    assert!(out.compliant, "{out:?}");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q.clone()]]);
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(&q)
        .send()
        .await
        .unwrap();
    assert!(
        g.security_groups()[0].ip_permissions_egress().is_empty(),
        "the other run's group was repaired to no rules"
    );
}

#[tokio::test]
async fn a_spot_instance_is_isolated_without_termination_protection() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (image, subnet) = (image(&a).await, f.subnet.clone());
    let spot = a
        .ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .instance_market_options(
            aws_sdk_ec2::types::InstanceMarketOptionsRequest::builder()
                .market_type(aws_sdk_ec2::types::MarketType::Spot)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let spot = spot.instances()[0].instance_id().unwrap().to_string();
    let shim = Arc::new(RefuseTerminationProtection::default());
    let (_proxy, ec2) = through(&a, shim.clone());
    let out = Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .isolate_instance(&spot, false)
    .await
    .unwrap();
    assert!(out.compliant, "{out:?}");
    assert!(
        out.steps.iter().any(|s| s.contains("is a Spot instance")),
        "{out:?}"
    );
    assert!(
        !out.steps
            .iter()
            .any(|s| s.starts_with("evidence step failed")),
        "termination protection is not even asked for: {out:?}"
    );
}

/// With less time left in the invocation than a failed pass through the all-traffic group would
/// need to be repaired, an interface goes straight to quarantine and the all-traffic group is
/// never opened.
#[tokio::test]
async fn with_little_time_left_an_interface_goes_straight_to_quarantine() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = Executor {
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(20)),
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .unwrap();
    assert!(
        out.steps.iter().any(|s| s.contains("straight to")),
        "{out:?}"
    );
    // The note says first that the connections were not cut (Security Hub keeps 512 characters).
    let (_, _, note) = secauto_handlers::remediation::verdict(
        "isolate-instance",
        secauto_handlers::env::Mode::Enforce,
        &Ok(out.clone()),
    );
    let kept: String = note.chars().take(512).collect();
    assert!(kept.contains("were NOT cut"), "{kept}");
    assert!(!out.compliant, "not cut, so not RESOLVED: {out:?}");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
    assert_eq!(
        group_id(&a, &f.vpc, UNTRACK_GROUP).await,
        None,
        "the all-traffic group was never made"
    );
}

/// Shows every interface with isolation's minimum connection-tracking timeouts, as EC2 does after
/// a run lowered them and its repair could not put them back (moto keeps no timeouts).
struct LoweredTimeouts;

impl Shim for LoweredTimeouts {
    fn respond(&self, request: &Message, response: &mut Message) {
        if !body(request).contains("Action=DescribeNetworkInterfaces") {
            return;
        }
        let text = String::from_utf8_lossy(&response.body).into_owned();
        let lowered = "<connectionTrackingConfiguration><tcpEstablishedTimeout>60</tcpEstablishedTimeout><udpStreamTimeout>60</udpStreamTimeout><udpTimeout>30</udpTimeout></connectionTrackingConfiguration>";
        let mut out = String::new();
        for (i, part) in text.split("</networkInterfaceId>").enumerate() {
            if i > 0 {
                out.push_str("</networkInterfaceId>");
                out.push_str(lowered);
            }
            out.push_str(part);
        }
        response.body = out.into_bytes();
    }
}

/// The timeouts an earlier run recorded are the original ones while the interface still has the
/// minimums that run set (its repair could not put them back): a later isolation keeps that
/// record instead of writing the lowered values over it. (Once they differ — after an undo — the
/// present values are recorded: `tracking::tests`.)
#[tokio::test]
async fn mocked_an_earlier_record_of_the_timeouts_is_kept_while_they_are_isolations() {
    let a = aws();
    let f = fixture(&a, false).await;
    let enis = a
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(&f.instance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let eni = enis.network_interfaces()[0]
        .network_interface_id()
        .unwrap()
        .to_string();
    let original = "tcp=3600 udp-stream=180 udp=30";
    a.ec2
        .create_tags()
        .resources(&eni)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(secauto_handlers::remediate::PREVIOUS_TRACKING_TAG)
                .value(original)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let proxy = Proxy::start(&a.url, Some(Arc::new(LoweredTimeouts)));
    let ec2 = aws_sdk_ec2::Client::from_conf(
        a.ec2.config().to_builder().endpoint_url(&proxy.url).build(),
    );
    let seen = ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni)
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen.network_interfaces()[0]
            .connection_tracking_configuration()
            .and_then(|c| c.tcp_established_timeout()),
        Some(60),
        "the shim shows the lowered timeouts"
    );
    Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .unwrap();
    assert_eq!(
        eni_tag(
            &a,
            &f.instance,
            secauto_handlers::remediate::PREVIOUS_TRACKING_TAG
        )
        .await
        .as_deref(),
        Some(original)
    );
}

/// EC2's answer to a revoke of a rule that is not there (or that it took to be gone).
fn not_found() -> Message {
    Message {
        start: "HTTP/1.1 400 Bad Request".into(),
        headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
        body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidPermission.NotFound</Code><Message>The specified rule does not exist in this security group.</Message></Error></Errors><RequestID>1a2c</RequestID></Response>"#
            .to_vec(),
    }
}

/// Answers the first `times` revokes of inbound rules with NotFound without passing them on: the
/// rule stays, as when another run's revoke and this one crossed.
struct RevokeAnsweredNotFound {
    times: usize,
    seen: AtomicUsize,
    revokes: Seen,
}

impl Shim for RevokeAnsweredNotFound {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        if !body(request).contains("Action=RevokeSecurityGroupIngress") {
            return None;
        }
        self.revokes.note(request);
        (self.seen.fetch_add(1, Ordering::SeqCst) < self.times).then(not_found)
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// Tagged as isolation tags the groups it makes.
fn ours() -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("secauto:quarantine")
                .value("true")
                .build(),
        )
        .build()
}

/// The stack's quarantine group, to which someone gave two inbound rules.
async fn quarantine_with_rules(a: &Aws, vpc: &str) -> String {
    let q = a
        .ec2
        .create_security_group()
        .group_name(QUARANTINE_GROUP)
        .description("secauto quarantine")
        .vpc_id(vpc)
        .tag_specifications(ours())
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&q)
        .ip_permissions(world("tcp", 22, 22))
        .ip_permissions(world("tcp", 443, 443))
        .send()
        .await
        .unwrap();
    q
}

/// Each rule is revoked by its id, one per call, and the group read again until empty: a revoke
/// answered NotFound while its rule stays (on AWS a multi-rule revoke with one rule gone revokes
/// none) does not leave the quarantine group allowing traffic.
#[tokio::test]
async fn quarantine_rules_are_revoked_one_by_one_until_a_re_read_shows_none() {
    let a = aws();
    let f = fixture(&a, false).await;
    let q = quarantine_with_rules(&a, &f.vpc).await;
    let shim = Arc::new(RevokeAnsweredNotFound {
        times: 1,
        seen: AtomicUsize::new(0),
        revokes: Seen::default(),
    });
    let out = isolate_through(&a, shim.clone(), &f.instance, false)
        .await
        .expect("isolated");
    assert!(out.compliant, "{out:?}");
    assert_eq!(rules_of(&a, &q).await, (0, 0));
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
    // Two rules of the quarantine group (one of them twice) and the all-traffic group's two.
    assert!(shim.revokes.all().len() >= 5, "{:?}", shim.revokes.all());
}

/// A quarantine group whose rules cannot be removed is not used: the run fails and no interface
/// moves into a group that allows traffic.
#[tokio::test]
async fn a_quarantine_group_that_keeps_its_rules_fails_the_run_and_nothing_moves() {
    let a = aws();
    let f = fixture(&a, false).await;
    quarantine_with_rules(&a, &f.vpc).await;
    let shim = Arc::new(RevokeAnsweredNotFound {
        times: usize::MAX,
        seen: AtomicUsize::new(0),
        revokes: Seen::default(),
    });
    let failed = isolate_through(&a, shim, &f.instance, false)
        .await
        .expect_err("the group keeps its rules");
    let text = format!("{:#}", failed.error);
    assert!(text.contains("still has 2 rule(s)"), "{text}");
    assert_eq!(groups(&a, &f.instance).await, vec![vec![f.sg.clone()]]);
}

/// A standalone interface of the fixture's subnet, put in `group` (another run's, passing through).
async fn interface_in(a: &Aws, f: &Fixture, group: &str) -> String {
    let eni = a
        .ec2
        .create_network_interface()
        .subnet_id(&f.subnet)
        .groups(group)
        .send()
        .await
        .unwrap();
    eni.network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string()
}

/// The VPC's all-traffic group as a run passing an interface through it holds it: open to all
/// traffic, both ways (a pass opens the group before its interface enters).
async fn untrack_group(a: &Aws, vpc: &str) -> String {
    let id = a
        .ec2
        .create_security_group()
        .group_name(UNTRACK_GROUP)
        .description("secauto all traffic")
        .vpc_id(vpc)
        .tag_specifications(ours())
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let all = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .build(),
        )
        .ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6("::/0")
                .build(),
        )
        .build();
    let ingress = a.ec2.authorize_security_group_ingress().group_id(&id);
    ingress.ip_permissions(all.clone()).send().await.unwrap();
    // A new group already allows all IPv4 traffic out: only IPv6 is added.
    let v6 = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("-1")
        .ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6("::/0")
                .build(),
        )
        .build();
    let egress = a.ec2.authorize_security_group_egress().group_id(&id);
    egress.ip_permissions(v6).send().await.unwrap();
    id
}

/// When each revoke of the all-traffic group's rules was sent.
#[derive(Default)]
struct RevokeTimes(Mutex<Vec<std::time::Instant>>);

impl Shim for RevokeTimes {
    fn before(&self, request: &Message) {
        if body(request).contains("Action=RevokeSecurityGroup") {
            self.0.lock().unwrap().push(std::time::Instant::now());
        }
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// One all-traffic group per VPC serves concurrent runs: a run closes it only once another run's
/// interface has left it (closing it under that interface would leave its connections tracked).
#[tokio::test]
async fn the_all_traffic_group_is_closed_only_once_another_runs_interface_left_it() {
    let a = aws();
    let f = fixture(&a, false).await;
    let untrack = untrack_group(&a, &f.vpc).await;
    let passing = interface_in(&a, &f, &untrack).await;
    let (ec2, to) = (a.ec2.clone(), f.sg.clone());
    let left = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
        ec2.modify_network_interface_attribute()
            .network_interface_id(passing)
            .groups(to)
            .send()
            .await
            .unwrap();
        std::time::Instant::now()
    });
    let times = Arc::new(RevokeTimes::default());
    let (_proxy, proxied) = through(&a, times.clone());
    let out = Executor {
        ec2: &proxied,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .unwrap();
    let left_at = left.await.unwrap();
    let revokes = times.0.lock().unwrap().clone();
    assert!(
        revokes.last().is_some_and(|t| *t > left_at),
        "closed after the other interface left: {out:?}"
    );
    assert!(!out.steps.iter().any(|s| s.contains("still in")), "{out:?}");
    assert_eq!(rules_of(&a, &untrack).await, (0, 0));
}

/// An interface that stays in the all-traffic group (a run that died half-way) is contained by
/// the close, after a bounded wait, and said.
#[tokio::test]
async fn an_interface_left_in_the_all_traffic_group_is_contained_by_the_close() {
    let a = aws();
    let f = fixture(&a, false).await;
    let untrack = untrack_group(&a, &f.vpc).await;
    let stuck = interface_in(&a, &f, &untrack).await;
    let out = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
    assert!(
        out.steps
            .iter()
            .any(|s| s.contains(&stuck) && s.contains("closing it contains them")),
        "{out:?}"
    );
    assert_eq!(rules_of(&a, &untrack).await, (0, 0));
}

/// One fact arriving in both formats (ASFF and OCSF: two finding ids) keeps one forensic snapshot
/// per volume and changes nothing the second time: the snapshots are keyed by the fact.
#[tokio::test]
async fn one_fact_in_both_formats_is_snapshotted_once() {
    let a = aws();
    let f = fixture(&a, false).await;
    // The fact of each copy, from the corpus twins (GuardDuty SSH brute force, ASFF and OCSF: the
    // OCSF copy's finding_info.uid the bare GuardDuty finding id), about this instance.
    let fact_of = |file: &str, bare_id: bool| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ocsf");
        let text = std::fs::read_to_string(root.join(file))
            .unwrap()
            .replace("111122223333", "123456789012")
            .replace("i-0abcd1234ef567890", &f.instance);
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        if bare_id {
            let uid = &mut v["detail"]["findings"][0]["finding_info"]["uid"];
            *uid = uid.as_str().unwrap().rsplit('/').next().unwrap().into();
        }
        let found = match secauto_core::parse_input(&v).unwrap() {
            secauto_core::Input::Imported(found) | secauto_core::Input::File(found) => found,
            other => panic!("{other:?}"),
        };
        (found.ok[0].fact_key(), found.ok[0].id.clone())
    };
    let (fact, _) = fact_of("asff-twins/guardduty-ssh-bruteforce-high.json", false);
    let (ocsf_fact, ocsf_id) = fact_of("guardduty-ssh-bruteforce-high.event.json", true);
    assert_eq!(fact, ocsf_fact);
    assert!(fact.contains(&f.instance), "{fact}");
    let first = Executor {
        fact: &fact,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, true)
    .await
    .unwrap();
    assert!(first.changed, "{first:?}");
    let twin = Executor {
        fact: &ocsf_fact,
        finding_id: &ocsf_id,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, true)
    .await
    .unwrap();
    assert!(
        twin.steps
            .iter()
            .any(|s| s.contains("already has forensic snapshot")),
        "{twin:?}"
    );
    assert!(!twin.changed, "{twin:?}");
    let snapshots = a
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name("tag:secauto:instance")
                .values(&f.instance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let volumes = a
        .ec2
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(&f.instance)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .volumes()
        .len();
    assert!(volumes > 0);
    assert_eq!(snapshots.snapshots().len(), volumes);
}

/// Marks every interface in DescribeNetworkInterfaces' answer as managed by another service (moto
/// makes no load balancer interfaces; AWS's answer carries `requesterManaged` true for them).
struct ManagedInterfaces;

impl Shim for ManagedInterfaces {
    fn respond(&self, request: &Message, response: &mut Message) {
        if body(request).contains("Action=DescribeNetworkInterfaces") {
            let text = String::from_utf8_lossy(&response.body).replace(
                "<requesterManaged>false</requesterManaged>",
                "<requesterManaged>true</requesterManaged>",
            );
            response.body = text.into_bytes();
        }
    }
}

/// block-network leaves a group a load balancer (or another service's interface) uses: it may be
/// meant to be open to the world; fix-security-group still revokes SSH and RDP there.
#[tokio::test]
async fn mocked_block_network_leaves_a_group_another_service_uses() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (_proxy, ec2) = through(&a, Arc::new(ManagedInterfaces));
    let e = Executor {
        ec2: &ec2,
        ..exec(&a, false)
    };
    let out = e.block_network(&f.sg).await.unwrap();
    let why = out.refused.clone().unwrap_or_default();
    assert!(why.contains("another service manages"), "{out:?}");
    assert!(!out.changed, "{out:?}");
    let out = e.fix_security_group(&f.sg).await.unwrap();
    assert!(out.changed, "{out:?}");
}

/// A group named like isolation's that secauto did not make (no `secauto:quarantine=true` tag) is
/// never used or emptied: the run fails naming it, and nothing moves.
#[tokio::test]
async fn a_foreign_group_named_like_quarantine_is_never_used() {
    let a = aws();
    let f = fixture(&a, false).await;
    let foreign = a
        .ec2
        .create_security_group()
        .group_name(QUARANTINE_GROUP)
        .description("someone else's")
        .vpc_id(&f.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&foreign)
        .ip_permissions(world("tcp", 22, 22))
        .send()
        .await
        .unwrap();
    let failed = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .expect_err("no quarantine group of secauto's can be made");
    assert!(
        format!("{:#}", failed.error).contains("is not secauto's"),
        "{:#}",
        failed.error
    );
    assert_eq!(groups(&a, &f.instance).await, vec![vec![f.sg.clone()]]);
    assert_eq!(rules_of(&a, &foreign).await.0, 1, "its rule stays");
}

/// Fails the second DescribeNetworkInterfaces (the read just before the move) with EC2's 503.
struct SecondReadFails(AtomicUsize);

impl Shim for SecondReadFails {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        if !body(request).contains("Action=DescribeNetworkInterfaces") {
            return None;
        }
        (self.0.fetch_add(1, Ordering::SeqCst) == 1).then(|| Message {
            start: "HTTP/1.1 503 Service Unavailable".into(),
            headers: vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())],
            body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>Unavailable</Code><Message>The service is unavailable.</Message></Error></Errors><RequestID>5e1f</RequestID></Response>"#
                .to_vec(),
        })
    }
    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// An interface whose read just before the move fails (its timeouts already lowered) is still
/// contained: straight to quarantine, said.
#[tokio::test]
async fn an_interface_that_cannot_be_read_again_goes_straight_to_quarantine() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (_proxy, ec2) = through(&a, Arc::new(SecondReadFails(AtomicUsize::new(0))));
    let quick = aws_sdk_ec2::Client::from_conf(
        ec2.config()
            .to_builder()
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
            .build(),
    );
    let out = Executor {
        ec2: &quick,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .expect("contained all the same");
    assert!(
        out.steps.iter().any(|s| s.contains("could not read")),
        "{out:?}"
    );
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
}

/// Hides the outbound rules of the groups in the first DescribeSecurityGroups answers after a
/// CreateSecurityGroup: EC2's reads are eventually consistent, and a new group's allow-all egress
/// rule may not be listed yet.
#[derive(Default)]
struct NewGroupEgressHidden(AtomicUsize);

impl Shim for NewGroupEgressHidden {
    fn respond(&self, request: &Message, response: &mut Message) {
        let b = body(request);
        if b.contains("Action=CreateSecurityGroup") {
            self.0.store(3, Ordering::SeqCst);
            return;
        }
        if !b.contains("Action=DescribeSecurityGroups") || self.0.load(Ordering::SeqCst) == 0 {
            return;
        }
        self.0.fetch_sub(1, Ordering::SeqCst);
        let mut text = String::from_utf8_lossy(&response.body).into_owned();
        while let Some(start) = text.find("<ipPermissionsEgress>") {
            let Some(len) = text[start..].find("</ipPermissionsEgress>") else {
                break;
            };
            let end = start + len + "</ipPermissionsEgress>".len();
            text.replace_range(start..end, "<ipPermissionsEgress/>");
        }
        response.body = text.into_bytes();
    }
}

/// A new quarantine group's allow-all outbound rule is revoked by what it is, even when the reads
/// just after the create do not list it yet: the interface never sits in a "quarantine" that lets
/// everything out.
#[tokio::test]
async fn a_new_quarantine_groups_outbound_rule_is_revoked_even_before_reads_show_it() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (_proxy, ec2) = through(&a, Arc::new(NewGroupEgressHidden::default()));
    Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .expect("isolated");
    let q = group_id(&a, &f.vpc, QUARANTINE_GROUP).await.unwrap();
    assert_eq!(rules_of(&a, &q).await, (0, 0), "read from moto itself");
    assert_eq!(groups(&a, &f.instance).await, vec![vec![q]]);
}

/// Keeps every request body, and answers that the instance terminates on shutdown (EC2's answer
/// for an instance launched so; moto answers `stop` whatever was set).
#[derive(Default)]
struct ShutdownTerminates(Bodies);

impl Shim for ShutdownTerminates {
    fn before(&self, request: &Message) {
        self.0.before(request);
    }
    fn respond(&self, request: &Message, response: &mut Message) {
        if body(request).contains("Attribute=instanceInitiatedShutdownBehavior") {
            let text = String::from_utf8_lossy(&response.body)
                .replace("<value>stop</value>", "<value>terminate</value>");
            response.body = text.into_bytes();
        }
    }
}

/// Each evidence change is recorded in a tag of the instance before it is made: what the shutdown
/// behaviour was, that termination protection was off.
#[tokio::test]
async fn mocked_each_evidence_change_is_recorded_on_the_instance_first() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = Arc::new(ShutdownTerminates::default());
    let (_proxy, ec2) = through(&a, shim.clone());
    Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .expect("isolated");
    let seen = shim.0 .0.lock().unwrap().clone();
    let at = |needle: &str| {
        seen.iter()
            .position(|b| b.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {seen:#?}"))
    };
    let shutdown_record =
        at("Tag.1.Key=secauto%3Aprevious-shutdown-behavior&Tag.1.Value=terminate");
    let protection_record =
        at("Tag.1.Key=secauto%3Aprevious-termination-protection&Tag.1.Value=off");
    assert!(shutdown_record < at("InstanceInitiatedShutdownBehavior.Value=stop"));
    assert!(protection_record < at("DisableApiTermination.Value=true"));
}
