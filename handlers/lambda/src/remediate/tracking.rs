//! An interface's connection-tracking timeouts: recorded before isolation lowers them to EC2's
//! minimums (so that flows which stay tracked expire once idle that long), and put back when the
//! interface could not be contained and returns to its groups — a workload's idle connections must
//! not start dropping after a minute because of an isolation that did not happen.

use aws_sdk_ec2::types::{ConnectionTrackingSpecificationRequest, NetworkInterface};

use super::{Executor, Outcome};
use crate::sdk_err;

/// The tag recording an interface's connection-tracking timeouts before isolation lowered them.
pub const PREVIOUS_TRACKING_TAG: &str = "secauto:previous-connection-tracking";

/// EC2's minimum idle timeouts (seconds): established TCP, UDP streams, other UDP.
const MIN_TIMEOUTS: (i32, i32, i32) = (60, 60, 30);

/// EC2's defaults, what an interface without a configuration of its own has (seconds) — except
/// on Nitro v6 instance types, whose established-TCP default is 350 s; nothing EC2 describes tells
/// them apart, so a restore to `default` says so.
const DEFAULT_TIMEOUTS: (i32, i32, i32) = (432_000, 180, 30);

pub(super) fn tag_value<'e>(eni: &'e NetworkInterface, key: &str) -> Option<&'e str> {
    eni.tag_set()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The record of the interface's timeouts: an earlier run's when the present ones are the minimums
/// isolation sets (that run lowered them, and a repair may have left them lowered), otherwise the
/// present ones — after an undo, or anyone's change since, an old record would put back stale values.
pub(super) fn tracking_record(eni: &NetworkInterface) -> String {
    let present = eni.connection_tracking_configuration().map(|c| {
        (
            c.tcp_established_timeout().unwrap_or_default(),
            c.udp_stream_timeout().unwrap_or_default(),
            c.udp_timeout().unwrap_or_default(),
        )
    });
    if let Some(earlier) = tag_value(eni, PREVIOUS_TRACKING_TAG) {
        if present == Some(MIN_TIMEOUTS) {
            return earlier.to_string();
        }
    }
    present.map_or_else(
        || "default".to_string(),
        |(tcp, udp_stream, udp)| format!("tcp={tcp} udp-stream={udp_stream} udp={udp}"),
    )
}

/// The timeouts a record names; EC2's default for `default` and for any value missing or zero.
pub(super) fn timeouts_of(record: &str) -> (i32, i32, i32) {
    let (mut tcp, mut udp_stream, mut udp) = DEFAULT_TIMEOUTS;
    for part in record.split_whitespace() {
        let Some((key, value)) = part.split_once('=') else {
            continue;
        };
        let Some(value) = value.parse::<i32>().ok().filter(|v| *v > 0) else {
            continue;
        };
        match key {
            "tcp" => tcp = value,
            "udp-stream" => udp_stream = value,
            "udp" => udp = value,
            _ => {}
        }
    }
    (tcp, udp_stream, udp)
}

/// What a restore to EC2's defaults cannot know.
const NITRO_V6: &str = "EC2's defaults, but a Nitro v6 instance type's established-TCP default is 350 s: there, set 350 by hand";

fn spec((tcp, udp_stream, udp): (i32, i32, i32)) -> ConnectionTrackingSpecificationRequest {
    ConnectionTrackingSpecificationRequest::builder()
        .tcp_established_timeout(tcp)
        .udp_stream_timeout(udp_stream)
        .udp_timeout(udp)
        .build()
}

impl Executor<'_> {
    /// Lower the interface's connection-tracking timeouts to EC2's minimums, before it moves, so
    /// flows that stay tracked (ICMP; through NAT gateways and load balancers) expire once idle that
    /// long. Best effort (some instance types refuse it): true when they were lowered.
    pub(super) async fn lower_timeouts(
        &self,
        eni_id: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> bool {
        let (tcp, udp_stream, udp) = MIN_TIMEOUTS;
        let what = format!(
            "lower {eni_id}'s connection-tracking timeouts to {tcp} s (TCP), {udp_stream} s (UDP streams), {udp} s (UDP)"
        );
        if !self.acting(protected) {
            self.step(out, protected, what);
            return true;
        }
        let res = self
            .ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .connection_tracking_specification(spec(MIN_TIMEOUTS))
            .send()
            .await;
        match res {
            Ok(_) => {
                self.step(out, protected, what);
                true
            }
            Err(e) => {
                out.steps.push(format!(
                    "could not {what}: {:#}",
                    sdk_err("ec2:ModifyNetworkInterfaceAttribute", e)
                ));
                false
            }
        }
    }

    /// Put the recorded timeouts back on an interface that was not contained; what happened, said.
    pub(super) async fn restore_timeouts(&self, eni_id: &str, record: &str) -> String {
        let (tcp, udp_stream, udp) = timeouts_of(record);
        let what = format!(
            "restore {eni_id}'s connection-tracking timeouts to {tcp} s (TCP), {udp_stream} s (UDP streams), {udp} s (UDP)"
        );
        let res = self
            .quick()
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .connection_tracking_specification(spec((tcp, udp_stream, udp)))
            .send()
            .await;
        match res {
            Ok(_) if !record.contains("tcp=") => format!("{what} ({NITRO_V6})"),
            Ok(_) => what,
            Err(e) => format!(
                "could not {what} ({:#}): set them by hand",
                sdk_err("ec2:ModifyNetworkInterfaceAttribute", e)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_the_timeouts_to_restore() {
        assert_eq!(timeouts_of("default"), DEFAULT_TIMEOUTS);
        assert_eq!(
            timeouts_of("tcp=3600 udp-stream=120 udp=60"),
            (3600, 120, 60)
        );
        // An interface with only some configured: the others are EC2's defaults.
        assert_eq!(timeouts_of("tcp=0 udp-stream=0 udp=45"), (432_000, 180, 45));
        assert_eq!(timeouts_of("garbage"), DEFAULT_TIMEOUTS);
    }

    fn eni(timeouts: Option<(i32, i32, i32)>, earlier: Option<&str>) -> NetworkInterface {
        let mut b = NetworkInterface::builder();
        if let Some((tcp, udp_stream, udp)) = timeouts {
            b = b.connection_tracking_configuration(
                aws_sdk_ec2::types::ConnectionTrackingConfiguration::builder()
                    .tcp_established_timeout(tcp)
                    .udp_stream_timeout(udp_stream)
                    .udp_timeout(udp)
                    .build(),
            );
        }
        if let Some(v) = earlier {
            b = b.tag_set(
                aws_sdk_ec2::types::Tag::builder()
                    .key(PREVIOUS_TRACKING_TAG)
                    .value(v)
                    .build(),
            );
        }
        b.build()
    }

    #[test]
    fn an_earlier_record_is_kept_only_while_the_timeouts_are_isolations() {
        let earlier = "tcp=3600 udp-stream=120 udp=60";
        // Lowered by an earlier run (a repair left them so): its record is the original.
        assert_eq!(
            tracking_record(&eni(Some(MIN_TIMEOUTS), Some(earlier))),
            earlier
        );
        // Undone since (or changed by anyone): the present values, not the stale record.
        assert_eq!(
            tracking_record(&eni(Some((7200, 180, 30)), Some(earlier))),
            "tcp=7200 udp-stream=180 udp=30"
        );
        assert_eq!(tracking_record(&eni(None, Some(earlier))), "default");
        assert_eq!(tracking_record(&eni(None, None)), "default");
    }
}
