//! The isolation document's automation, run as its own role and followed to its end: quarantine
//! is RESOLVED only when the automation succeeded; otherwise the finding stays NOTIFIED with the
//! step that failed, or with the execution id when it is still running.

use std::time::{Duration, Instant};

use anyhow::Result;
use aws_sdk_ssm::types::AutomationExecutionStatus as S;

use super::{Executor, Outcome};
use crate::sdk_err;

/// The isolation automation's idempotency token for `instance` and the finding's fact (`fact`: the
/// run's fact token): a UUIDv5 of both, so a retried or duplicate invocation (Lambda delivers at
/// least once), or the same fact arriving in the other format, starts no second execution —
/// Systems Manager takes a token only once (StartAutomationExecution's `ClientToken`).
///
/// The instance's launch time is part of it: Systems Manager never takes a token twice, so once the
/// instance was started again (by an analyst, after the evidence was kept) the same fact can be
/// quarantined again. Every parameter is fixed by the token's inputs too, since a token sent again
/// with other parameters is refused (`IdempotentParameterMismatch`).
pub fn automation_token(fact: &str, instance: &str, launched: &str) -> String {
    let name = format!("secauto-isolation:{fact}:{instance}:{launched}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
}

/// What the invocation keeps, after following the automation, for recording the outcome.
const RECORD_TIME: Duration = Duration::from_secs(10);

/// How the automation ended, as far as remediation saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    /// It ended in another state: the status and what failed.
    Failed(String),
    /// Still running when remediation stopped following it.
    Running(String),
}

fn terminal(s: &S) -> Option<bool> {
    match s {
        S::Success | S::CompletedWithSuccess => Some(true),
        S::Failed
        | S::Timedout
        | S::Cancelled
        | S::Cancelling
        | S::CompletedWithFailure
        | S::Rejected
        | S::Exited
        | S::ChangeCalendarOverrideRejected => Some(false),
        _ => None,
    }
}

impl Executor<'_> {
    /// Why the automation's stop must not run on `instance`: an instance still in its Auto Scaling
    /// group would be replaced and terminated once stopped (termination protection does not stop
    /// Auto Scaling), a stop erases instance-store volumes (evidence), and EC2 cannot stop a
    /// one-time Spot instance (a persistent one would be relaunched); `None` when it may be stopped.
    pub(super) async fn why_not_stop(&self, instance: &str) -> Result<Option<String>> {
        let member = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| sdk_err("autoscaling:DescribeAutoScalingInstances", e))?;
        // Detaching (draining from its load balancers) or Detached: no longer the group's to replace.
        let held = member
            .auto_scaling_instances()
            .first()
            .filter(|m| !matches!(m.lifecycle_state(), Some("Detaching" | "Detached")));
        if let Some(m) = held {
            return Ok(Some(format!(
                "{instance} is still in Auto Scaling group {} (it could not be detached): stopped, it would fail its health check and the group would terminate it with its evidence, so it is isolated but not stopped; suspend the group's ReplaceUnhealthy process, then stop it by hand",
                m.auto_scaling_group_name().unwrap_or("?")
            )));
        }
        let inst = self.instance(instance).await?;
        if inst.instance_lifecycle() == Some(&aws_sdk_ec2::types::InstanceLifecycleType::Spot) {
            return Ok(Some(format!(
                "{instance} is a Spot instance: EC2 cannot stop a one-time Spot instance, and stopping a persistent one disables its Spot request, so it is isolated but not stopped; snapshot and terminate it by hand when the evidence is kept"
            )));
        }
        if inst.root_device_type() == Some(&aws_sdk_ec2::types::DeviceType::InstanceStore) {
            return Ok(Some(format!(
                "{instance} has an instance-store root volume: stopping would erase it, so it is isolated but not stopped"
            )));
        }
        let Some(kind) = inst.instance_type() else {
            return Ok(None);
        };
        let types = self
            .ec2
            .describe_instance_types()
            .instance_types(kind.clone())
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeInstanceTypes", e))?;
        let local = types
            .instance_types()
            .first()
            .and_then(|t| t.instance_storage_supported())
            .unwrap_or(false);
        Ok(local.then(|| {
            format!(
                "{instance} ({}) has instance-store volumes: stopping would erase them (evidence), so it is isolated but not stopped; copy what you need, then stop it by hand",
                kind.as_str()
            )
        }))
    }

    /// Start the isolation automation for `instance` and follow it for `automation_wait`.
    pub(super) async fn run_automation(&self, instance: &str, out: &mut Outcome) -> Result<()> {
        let launched = self
            .instance(instance)
            .await?
            .launch_time()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut start = self
            .ssm
            .start_automation_execution()
            .client_token(automation_token(&self.fact_token(), instance, &launched))
            .document_name(self.isolate_document)
            .parameters("InstanceId", vec![instance.to_string()])
            .parameters(
                "FindingId",
                vec![self.fact_or_finding().chars().take(512).collect()],
            );
        if !self.automation_role.is_empty() {
            start = start.parameters(
                "AutomationAssumeRole",
                vec![self.automation_role.to_string()],
            );
        }
        let started = start
            .send()
            .await
            .map_err(|e| sdk_err("ssm:StartAutomationExecution", e))?;
        let id = started
            .automation_execution_id()
            .unwrap_or_default()
            .to_string();
        out.changed = true;
        out.steps.push(format!(
            "started automation {} as {}: execution {id}",
            self.isolate_document,
            if self.automation_role.is_empty() {
                "the caller"
            } else {
                self.automation_role
            }
        ));
        match self.follow(&id).await? {
            Ended::Succeeded => {
                out.steps
                    .push(format!("automation {id} succeeded (snapshots, tag, stop)"));
            }
            Ended::Failed(why) => {
                out.steps
                    .push(format!("automation {id} did not succeed: {why}"));
                out.refused = Some(format!(
                    "the isolation automation {id} did not succeed: {why}"
                ));
            }
            Ended::Running(status) => {
                out.steps.push(format!(
                    "automation {id} still {status} after {:?}",
                    self.automation_wait
                ));
                out.refused = Some(format!(
                    "the isolation automation {id} is still {status}: follow it in Systems Manager (Automation executions)"
                ));
            }
        }
        Ok(())
    }

    /// Poll GetAutomationExecution with growing intervals until it ends or the wait is over: the
    /// configured wait, cut short so that [`RECORD_TIME`] of the invocation is left to record the
    /// outcome on the finding and SNS.
    async fn follow(&self, id: &str) -> Result<Ended> {
        let mut deadline = Instant::now() + self.automation_wait;
        if let Some(end) = self.deadline {
            deadline = deadline.min(end.checked_sub(RECORD_TIME).unwrap_or(end));
        }
        let mut delay = Duration::from_millis(500);
        loop {
            let got = self
                .ssm
                .get_automation_execution()
                .automation_execution_id(id)
                .send()
                .await
                .map_err(|e| sdk_err("ssm:GetAutomationExecution", e))?;
            let exec = got.automation_execution();
            let status = exec.and_then(|e| e.automation_execution_status().cloned());
            match status.as_ref().and_then(terminal) {
                Some(true) => return Ok(Ended::Succeeded),
                Some(false) => {
                    let status = status.map(|s| s.as_str().to_string()).unwrap_or_default();
                    let failed_step = exec
                        .map(|e| e.step_executions())
                        .unwrap_or_default()
                        .iter()
                        .find(|s| s.step_status().and_then(terminal).is_some_and(|ok| !ok))
                        .map(|s| {
                            format!(
                                " at step {} ({})",
                                s.step_name().unwrap_or("?"),
                                s.failure_message().unwrap_or("no message")
                            )
                        })
                        .unwrap_or_default();
                    let message = exec
                        .and_then(|e| e.failure_message())
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default();
                    return Ok(Ended::Failed(format!("{status}{failed_step}{message}")));
                }
                None => {}
            }
            if Instant::now() + delay > deadline {
                let status = status
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "unknown".into());
                return Ok(Ended::Running(status));
            }
            tokio::time::sleep(delay).await;
            delay = delay.mul_f32(1.5).min(Duration::from_secs(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automation_token_is_a_uuid_fixed_by_fact_instance_and_launch() {
        let launched = "2026-12-02T10:00:00Z";
        let t = automation_token("fact-1", "i-1", launched);
        assert_eq!(t, automation_token("fact-1", "i-1", launched));
        assert_ne!(t, automation_token("fact-1", "i-2", launched));
        assert_ne!(t, automation_token("fact-2", "i-1", launched));
        // Started again after the evidence was kept: the same fact may be quarantined again.
        assert_ne!(t, automation_token("fact-1", "i-1", "2026-12-03T09:00:00Z"));
        assert!(
            uuid::Uuid::parse_str(&t).is_ok_and(|u| u.get_version_num() == 5),
            "{t}"
        );
    }
}
