//! PutEvents in batches of at most 10 entries and 256 KB; entries that fail (reported with status 200)
//! are retried with backoff, then are errors.

use anyhow::Result;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::sdk_err;

pub const MAX_ENTRIES: usize = 10;
pub const MAX_BYTES: usize = 256 * 1024;
const ATTEMPTS: usize = 4;

/// One event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The bus (the stack's own; empty for the default bus).
    pub bus: String,
    pub source: String,
    pub detail_type: String,
    pub detail: String,
    pub resources: Vec<String>,
}

impl Event {
    /// The size EventBridge counts for an entry.
    pub fn size(&self) -> usize {
        self.source.len()
            + self.detail_type.len()
            + self.detail.len()
            + self.resources.iter().map(String::len).sum::<usize>()
    }

    fn entry(&self) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .set_event_bus_name((!self.bus.is_empty()).then(|| self.bus.clone()))
            .source(&self.source)
            .detail_type(&self.detail_type)
            .detail(&self.detail)
            .set_resources(if self.resources.is_empty() {
                None
            } else {
                Some(self.resources.clone())
            })
            .build()
    }
}

/// Split events into PutEvents calls.
pub fn batches(events: &[Event]) -> Vec<Vec<Event>> {
    let mut out: Vec<Vec<Event>> = Vec::new();
    let mut size = 0;
    for e in events {
        let s = e.size();
        match out.last_mut() {
            Some(b) if b.len() < MAX_ENTRIES && size + s <= MAX_BYTES => {
                b.push(e.clone());
                size += s;
            }
            _ => {
                out.push(vec![e.clone()]);
                size = s;
            }
        }
    }
    out
}

/// Send every event; returns how many were accepted.
pub async fn put(client: &aws_sdk_eventbridge::Client, events: &[Event]) -> Result<usize> {
    let mut sent = 0;
    for batch in batches(events) {
        let mut pending = batch;
        let mut delay = std::time::Duration::from_millis(100);
        for attempt in 1..=ATTEMPTS {
            let out = client
                .put_events()
                .set_entries(Some(pending.iter().map(Event::entry).collect()))
                .send()
                .await
                .map_err(|e| sdk_err("events:PutEvents", e))?;
            let results = out.entries();
            let mut failed = Vec::new();
            let mut reasons = Vec::new();
            for (i, e) in pending.iter().enumerate() {
                match results.get(i) {
                    Some(r) if r.error_code().is_none() && r.event_id().is_some() => sent += 1,
                    Some(r) => {
                        reasons.push(format!(
                            "{} {}",
                            r.error_code().unwrap_or("?"),
                            r.error_message().unwrap_or_default()
                        ));
                        failed.push(e.clone());
                    }
                    None => {
                        reasons.push("no result entry".into());
                        failed.push(e.clone());
                    }
                }
            }
            if failed.is_empty() {
                break;
            }
            if attempt == ATTEMPTS {
                anyhow::bail!(
                    "events:PutEvents: {} event(s) still failed after {ATTEMPTS} attempts: {}",
                    failed.len(),
                    reasons.join("; ")
                );
            }
            tracing::warn!(
                "events:PutEvents: {} entries failed; retrying",
                failed.len()
            );
            tokio::time::sleep(delay).await;
            delay *= 2;
            pending = failed;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: usize) -> Event {
        Event {
            bus: String::new(),
            source: "s".into(),
            detail_type: "d".into(),
            detail: "x".repeat(n),
            resources: vec![],
        }
    }

    #[test]
    fn at_most_ten_per_batch() {
        let b = batches(&vec![ev(10); 25]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    }

    #[test]
    fn at_most_256_kb_per_batch() {
        let b = batches(&vec![ev(100 * 1024); 5]);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    }
}
