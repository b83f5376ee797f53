//! Quarantine of one instance, on the contract: isolation first, then the isolation automation
//! (snapshots, tag, stop) as its own role — unless stopping would lose the instance or its
//! evidence (Spot, instance store, an Auto Scaling group that still holds it). A stopped instance
//! has no connection left, so a pass that could not cut them is answered by the stop.

use anyhow::Result;

use super::contract::{Remediation, Touched};
use super::isolation::{Isolation, Subject};
use super::{Executor, Outcome};

/// Quarantine of one instance, on the contract: isolation, then the isolation automation
/// (snapshots, tag, stop) as its own role, unless stopping would lose the instance or its evidence.
pub(super) struct Quarantine<'i>(pub(super) Isolation<'i>);

impl<'i> Remediation for Quarantine<'i> {
    type Subject = Subject<'i>;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Subject<'i>>> {
        self.0.read(ex, out).await
    }

    fn touches(&self, s: &Subject<'i>) -> Vec<Touched> {
        self.0.touches(s)
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        self.0.record(ex, s, out, protected).await
    }

    /// Isolation first; the stop only once the network is contained.
    async fn apply(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = self.0.id;
        if let Err(e) = self.0.apply(ex, s, out, protected).await {
            // Not contained, so not stopped: the snapshots the automation would keep are kept here.
            if let Err(snap) = ex.snapshot_volumes(&s.inst, out, protected).await {
                out.steps
                    .push(format!("evidence step failed (snapshots): {snap:#}"));
            }
            return Err(e);
        }
        let no_stop = match ex.why_not_stop(id).await {
            Ok(why) => why,
            Err(e) => Some(format!("could not read {id} before stopping it: {e:#}")),
        };
        if let Some(why) = no_stop {
            // Not stopped, so the automation (which keeps the snapshots) does not run: the volumes
            // are kept here, since a Spot instance may be reclaimed and instance store is lost.
            if let Err(e) = ex.snapshot_volumes(&s.inst, out, protected).await {
                out.steps
                    .push(format!("evidence step failed (snapshots): {e:#}"));
            }
            out.refused = Some(why);
            return Ok(());
        }
        if !ex.acting(protected) {
            let what = format!(
                "start automation {} (snapshots, tag, stop) for {id}",
                ex.isolate_document
            );
            ex.step(out, protected, what);
            return Ok(());
        }
        ex.run_automation(id, out).await
    }

    /// The automation changes nothing a failure leaves open; the isolation's repair is the one.
    async fn repair(&self, ex: &Executor<'_>, s: &Subject<'i>, out: &mut Outcome) -> Result<()> {
        self.0.repair(ex, s, out).await
    }

    /// Isolated (the isolation's re-read) and, after acting, stopped or stopping by a re-read:
    /// the automation's word is not enough.
    async fn verify(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        if out.refused.is_some() {
            return Ok(false);
        }
        // Stopped, the instance has no connection left: a pass that could not cut them is answered.
        let isolated = self.0.contained(ex, s, out, acted).await?;
        if !acted {
            return Ok(isolated);
        }
        Ok(isolated && ex.stopped(self.0.id, out).await.unwrap_or(false))
    }
}
