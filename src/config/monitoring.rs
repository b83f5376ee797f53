//! `[monitoring]`: alarms and the dashboard.

use serde::{Deserialize, Serialize};

/// `[monitoring]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    pub alarms: bool,
    pub dashboard: bool,
    /// Alarm period in seconds (a multiple of 60).
    pub alarm_period_seconds: i32,
    /// DLQ depth at or above which the DLQ alarm fires.
    pub dlq_depth_threshold: f64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            alarms: true,
            dashboard: true,
            alarm_period_seconds: 300,
            dlq_depth_threshold: 1.0,
        }
    }
}

impl MonitoringConfig {
    /// Problems of `[monitoring]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let m = self;
        if m.alarm_period_seconds < 60 || m.alarm_period_seconds % 60 != 0 {
            p.push(format!(
                "[monitoring] alarm_period_seconds = {} must be a multiple of 60, at least 60",
                m.alarm_period_seconds
            ));
        }
        if m.dlq_depth_threshold.is_nan() || m.dlq_depth_threshold < 1.0 {
            p.push("[monitoring] dlq_depth_threshold must be at least 1".into());
        }
    }
}
