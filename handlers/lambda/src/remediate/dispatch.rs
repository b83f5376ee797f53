//! Each action to its remediation, with the resource id as the action takes it: the short id
//! (`i-…`, `sg-…`, a bucket's or a document's name, an account id) for most, the ARN for those
//! whose API takes it (a topic, a queue, a key, a function, an IAM user, a trail).

use secauto_core::Action;

use super::{Executor, Failed, Outcome};

/// The last part of an ARN or id: `i-0abc…` of `arn:aws:ec2:…:instance/i-0abc…`.
fn short(id: &str) -> &str {
    let tail = id.rsplit(':').next().unwrap_or(id);
    tail.rsplit('/').next().unwrap_or(tail)
}

impl Executor<'_> {
    /// [`Self::remediate`], with the parameters the live finding's control carries: EC2.18
    /// revokes what its `authorizedTcpPorts`/`authorizedUdpPorts` do not authorize; IAM.3, IAM.8
    /// and IAM.22 take the age their control allows (`super::max_age_days`).
    pub async fn remediate_with(
        &self,
        action: Action,
        id: &str,
        live: Option<&secauto_core::Finding>,
    ) -> Option<Result<Outcome, Failed>> {
        // Boxed: the remediations' futures are large, and this one would hold both on the stack.
        if action == Action::RestrictUnauthorizedPorts {
            if let Some(ports) = super::authorized_ports(live) {
                let ports = Box::pin(self.restrict_to_authorized_ports(short(id), &ports));
                return Some(ports.await);
            }
        }
        let days = super::max_age_days(action, live);
        match action {
            Action::DeactivateOldAccessKeys => {
                Some(Box::pin(self.deactivate_old_access_keys(id, days)).await)
            }
            Action::DeactivateUnusedAccessKeys => {
                Some(Box::pin(self.deactivate_unused_access_keys(id, days)).await)
            }
            _ => Box::pin(self.remediate(action, id)).await,
        }
    }

    /// Carry out `action` on the resource `id` (as the finding names it); `None` when the action
    /// changes nothing (notify-only, ignore, an unresolved `remediate-control`).
    pub async fn remediate(&self, action: Action, id: &str) -> Option<Result<Outcome, Failed>> {
        let s = short(id);
        Some(match action {
            Action::IsolateInstance => self.isolate_instance(s, true).await,
            Action::QuarantineInstance => self.quarantine_instance(s).await,
            Action::BlockNetwork => self.block_network(s).await,
            Action::FixSecurityGroup => self.fix_security_group(s).await,
            Action::EnableBucketEncryption => self.enable_bucket_encryption(s).await,
            Action::BlockBucketPublicAccess => self.block_bucket_public_access(s).await,
            Action::RequireBucketTls => self.require_bucket_tls(s).await,
            Action::CloseDefaultSecurityGroup => self.close_default_security_group(s).await,
            Action::EnableEbsDefaultEncryption => self.enable_ebs_default_encryption(s).await,
            Action::RequireImdsv2 => self.require_imdsv2(s).await,
            Action::MakeSnapshotsPrivate => self.make_snapshots_private(s).await,
            Action::DisableSubnetPublicIp => self.disable_subnet_public_ip(s).await,
            Action::RestrictUnauthorizedPorts => self.restrict_unauthorized_ports(s).await,
            Action::CloseHighRiskPorts => self.close_high_risk_ports(s).await,
            Action::DisableTgwAutoAccept => self.disable_tgw_auto_accept(s).await,
            Action::SetBucketLifecycle => self.set_bucket_lifecycle(s).await,
            Action::EncryptTopic => self.encrypt_topic(id).await,
            Action::MakeDocumentPrivate => self.make_document_private(s).await,
            Action::EnableKeyRotation => self.enable_key_rotation(id).await,
            Action::EncryptQueue => self.encrypt_queue(id).await,
            Action::RemovePublicFunctionAccess => self.remove_public_function_access(id).await,
            Action::StrengthenPasswordPolicy => self.strengthen_password_policy(s).await,
            Action::BlockPublicDocumentSharing => self.block_public_document_sharing(s).await,
            Action::EnableLogFileValidation => self.enable_log_file_validation(id).await,
            // The user's ARN: its path and account are checked against the user read.
            Action::DeactivateOldAccessKeys => {
                self.deactivate_old_access_keys(id, super::DEFAULT_MAX_AGE_DAYS)
                    .await
            }
            Action::DeactivateUnusedAccessKeys => {
                self.deactivate_unused_access_keys(id, super::DEFAULT_MAX_AGE_DAYS)
                    .await
            }
            Action::RemediateControl | Action::NotifyOnly | Action::Ignore => return None,
        })
    }
}
