//! The contract every remediation keeps, written once: an action says what it reads, what it
//! touches, what it records, what it changes and how it proves the result; [`Executor::carry_out`]
//! runs those in the one order that is safe, and decides what the outcome may claim.
//!
//! 1. **precondition** — [`Remediation::read`]: a fresh read, in the finding's account and region,
//!    proves the condition still holds; otherwise nothing is done and the outcome says why;
//! 2. **protection** — every resource in [`Remediation::touches`] is checked against protection
//!    (tag and config) before any write; one protected resource makes the whole action a dry run.
//!    A resource whose change is only a best-effort side step may instead be left out of
//!    `touches` when [`Remediation::read`] already decided, by the same check, to leave it as it is
//!    (isolation and a protected Auto Scaling group: the instance is contained, never detached);
//! 3. **record** — [`Remediation::record`]: what undo needs, written before the first change and
//!    never overwritten by a retry; a record that cannot be kept refuses the change;
//! 4. **steps, containment first** — [`Remediation::apply`]: each step reported as it happens
//!    ("would …" in a dry run); when it fails, [`Remediation::repair`] puts right what the failure
//!    left, so no state worse than the start remains;
//! 5. **verification** — [`Remediation::verify`]: a re-read; the finding is RESOLVED only when it
//!    proves the resource compliant;
//! 6. **declared calls** — `secauto_core::calls`: the AWS calls each action may make, from which the
//!    remediation role's policy is generated (and a test checks, path by path, that an action makes
//!    exactly those).
//!
//! The order is enforced where the calls are made, not only here: the action's clients refuse
//! every call that changes something until [`Executor::contract`] opens their gate
//! ([`super::declared::Gate`]), which it does only after the protection check found that the run
//! may act, and shuts again when the action is done.

use anyhow::Result;

use super::{finish, Executor, Failed, Outcome};

/// A resource an action would change, with its tags, for the protection check.
pub(super) struct Touched {
    pub id: String,
    pub tags: Vec<(String, String)>,
}

/// One remediation on the contract (the module's documentation says what each part must do).
pub(super) trait Remediation {
    /// What the precondition read found.
    type Subject;

    /// The precondition: `None` when there is nothing to do (the reason is in `out`).
    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Self::Subject>>;

    /// Every resource the action would change.
    fn touches(&self, s: &Self::Subject) -> Vec<Touched>;

    /// What undo needs, written on the resource before the first change (through `ex.act`, so a
    /// dry run only says it), merged with an earlier run's record, never overwriting it. Every
    /// remediation must say where its record goes: there is no default.
    async fn record(
        &self,
        ex: &Executor<'_>,
        s: &Self::Subject,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()>;

    /// The changes, containment first (each through `ex.act`).
    async fn apply(
        &self,
        ex: &Executor<'_>,
        s: &Self::Subject,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()>;

    /// After `apply` failed, while the run may still act: leave nothing worse than the start (a
    /// re-read, then what puts it right). Every remediation must say what its repair is — for a
    /// single change that either happens or not, that there is nothing to repair.
    async fn repair(&self, ex: &Executor<'_>, s: &Self::Subject, out: &mut Outcome) -> Result<()>;

    /// Whether the resource is compliant: after acting a re-read, otherwise the precondition's read.
    async fn verify(
        &self,
        ex: &Executor<'_>,
        s: &Self::Subject,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool>;
}

impl Executor<'_> {
    /// Carry out `r` on the contract.
    pub(super) async fn carry_out<R: Remediation>(&self, r: &R) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        // Boxed: a remediation's future is large (isolation's most), and callers that hold
        // several of them (a match over actions) would hold them all on their stack.
        let res = Box::pin(self.contract(r, &mut out)).await;
        finish(out, res)
    }

    /// The contract's steps, in order, into `out`; the gate is open only between the protection
    /// check and the verification, and only when the run may act.
    pub(super) async fn contract<R: Remediation>(&self, r: &R, out: &mut Outcome) -> Result<()> {
        self.gate.shut();
        let Some(subject) = r.read(self, out).await? else {
            return Ok(());
        };
        let mut protected = false;
        for t in r.touches(&subject) {
            let tags = t.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            protected |= self.guard(out, &t.id, tags);
        }
        let acted = self.acting(protected);
        if acted {
            self.gate.open();
        }
        let changed = self.changes(r, &subject, out, protected).await;
        self.gate.shut();
        changed?;
        out.compliant = r.verify(self, &subject, out, acted).await?;
        Ok(())
    }

    /// Record, then apply (not after a record that refused); a failed apply repaired (the repair's own failure said, the apply's
    /// error returned).
    async fn changes<R: Remediation>(
        &self,
        r: &R,
        subject: &R::Subject,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        r.record(self, subject, out, protected).await?;
        if out.refused.is_some() {
            // The record cannot be kept (it would not fit where it goes): nothing is changed.
            return Ok(());
        }
        let Err(e) = r.apply(self, subject, out, protected).await else {
            return Ok(());
        };
        if self.acting(protected) && !out.repaired {
            if let Err(repair) = r.repair(self, subject, out).await {
                out.steps.push(format!("the repair failed too: {repair:#}"));
            }
        }
        Err(e)
    }
}
