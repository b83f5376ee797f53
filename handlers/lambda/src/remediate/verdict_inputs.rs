//! What the live finding adds to a remediation's outcome before the verdict: an earlier run's
//! undo record kept in the finding's note, and a control's parameters secauto cannot check.

use secauto_core::Finding;

use super::{AuthorizedPorts, Outcome};

/// How an undo record kept in the finding's note begins (`the undo record is this note: …`,
/// `the undo record of … is this note only …`).
pub const UNDO_RECORD: &str = "the undo record ";

/// Room for an undo record in the finding's note: Security Hub keeps 512 characters of it
/// (BatchUpdateFindings' `Note.Text`, BatchUpdateFindingsV2's `Comment`), and the verdict's own
/// words (`secauto remediation did …: `) come before the record.
pub const NOTE_RECORD_ROOM: usize = 440;

/// Controls whose parameters an account may set stricter than secauto's benchmark, which
/// secauto does not read: a run that finds nothing to change cannot say the control passes.
/// (EC2.18's parameters are honoured: [`AuthorizedPorts::from_parameters`].)
const UNCHECKED_PARAMETERS: [&str; 2] = ["IAM.7", "S3.13"];

/// An earlier run's undo record, kept in the live finding's note (a retry of a run that failed
/// part-way, or a later finding about what that run changed), put first in this run's caveats —
/// unless this run records the same — so a retry that records less never replaces the first
/// record.
pub fn keep_earlier_record(live: Option<&Finding>, out: &mut Outcome) {
    let Some(note) = live.and_then(|l| l.note.as_ref()) else {
        return;
    };
    // A dry run's note only says what a record would be.
    if note.text.starts_with("secauto remediation dry run") {
        return;
    }
    let Some(at) = note.text.find(UNDO_RECORD) else {
        return;
    };
    let earlier = note.text[at..].split("; ").next().unwrap_or_default();
    if out.caveats.iter().any(|c| c == earlier) {
        return;
    }
    out.caveats
        .insert(0, format!("an earlier run's record (kept): {earlier}"));
}

/// The parameters of the live finding's control, said (`Name=Value`).
fn said(params: &[(String, Vec<String>)]) -> String {
    params
        .iter()
        .map(|(n, v)| format!("{n}={}", v.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A FAILED finding of a control with parameters secauto does not check, about a resource the run
/// found already meeting secauto's benchmark and left as it was: not proven compliant — the
/// control's parameters may be stricter — so the finding stays NOTIFIED, saying so.
pub fn parameters_may_be_stricter(
    control: Option<&str>,
    live: Option<&Finding>,
    out: &mut Outcome,
) {
    let (Some(control), Some(live)) = (control, live) else {
        return;
    };
    let failed = live
        .compliance
        .as_ref()
        .is_some_and(|c| c.status.as_deref() == Some("FAILED"));
    let unchecked = UNCHECKED_PARAMETERS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(control));
    if !failed || !unchecked || live.control_parameters.is_empty() {
        return;
    }
    // Whether or not this run changed the resource: its re-read proves secauto's benchmark, not
    // the control's own parameters, and a FAILED finding marked RESOLVED would stay hidden.
    if !out.compliant || out.refused.is_some() || out.protected {
        return;
    }
    let how = match out.changed {
        true => "the resource now meets secauto's benchmark",
        false => "the resource already meets secauto's benchmark",
    };
    let why = format!(
        "{how} for {control}, but the control's parameters ({}) may be stricter than the benchmark: Security Hub may still find it FAILED; review them and the resource by hand",
        said(&live.control_parameters)
    );
    out.steps.push(why.clone());
    out.refused = Some(why);
}

/// EC2.18's authorized ports as the live finding's parameters set them (`None`: the defaults).
pub fn authorized_ports(live: Option<&Finding>) -> Option<AuthorizedPorts> {
    AuthorizedPorts::from_parameters(&live?.control_parameters)
}

/// The undo records kept in the outcome's caveats (the note is their only home), each followed
/// by "; ": said first in a failure's note, before an error whose text may be long.
pub fn undo_records_first(caveats: &[String]) -> String {
    caveats
        .iter()
        .filter(|c| c.starts_with(UNDO_RECORD))
        .map(|c| format!("{c}; "))
        .collect()
}
