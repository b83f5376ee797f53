//! A function's reserved concurrency: set and removed with the function, and checked against the
//! account before any write, since Lambda refuses a reservation that would leave the account fewer
//! than 100 unreserved concurrent executions — found out only after the functions exist, a deploy
//! would stop half-way.

use anyhow::Result;
use serde_json::Value;

use super::Spec;
use crate::error::aws;
use crate::resources::{Ctx, Live};

/// Lambda keeps at least this many of an account's concurrent executions unreserved.
const UNRESERVED_MINIMUM: i64 = 100;

/// How many more executions `spec` reserves than `live` holds (negative when it frees some).
fn added(spec: &Spec, live: Option<&Live>) -> i64 {
    let want = i64::from(spec.reserved_concurrency.unwrap_or(0));
    let has = live
        .and_then(|l| l.fields.get("reserved_concurrency"))
        .and_then(Value::as_i64)
        .unwrap_or(0);
    want - has
}

/// Why the reservations of `functions` (each spec with its live function) do not fit the account,
/// read with GetAccountSettings before any write; `None` when they fit, reserve nothing more, or
/// the settings cannot be read (then PutFunctionConcurrency's own refusal is reported with the fix).
pub async fn no_room(ctx: &Ctx, functions: &[(&Spec, Option<&Live>)]) -> Option<String> {
    let more: i64 = functions.iter().map(|(s, l)| added(s, *l)).sum();
    if !functions.iter().any(|(s, l)| added(s, *l) > 0) {
        return None;
    }
    let settings = match ctx.clients.lambda.get_account_settings().send().await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "{:#}: the account's concurrency was not checked before deploying",
                aws("lambda:GetAccountSettings", e)
            );
            return None;
        }
    };
    let limit = settings.account_limit()?;
    let unreserved = i64::from(limit.unreserved_concurrent_executions().unwrap_or(0));
    let left = unreserved - more;
    (left < UNRESERVED_MINIMUM).then(|| {
        format!(
            "[lambda.reserved_concurrency] reserves {more} more concurrent executions, which would leave this account {left} unreserved of its {} (Lambda requires {UNRESERVED_MINIMUM}; new accounts may have a limit of 10 or 50): lower [lambda.reserved_concurrency] in secauto.toml, set each to 0 to leave the functions unreserved, or ask AWS for a higher concurrent-executions quota",
            limit.concurrent_executions()
        )
    })
}

/// Reserve the spec's concurrency (PutFunctionConcurrency), or remove the reservation
/// (DeleteFunctionConcurrency) when it has none. Lambda refuses a reservation that would leave the
/// account fewer than 100 unreserved concurrent executions; that answer is reported with the fix.
pub(super) async fn set_concurrency(ctx: &Ctx, spec: &Spec) -> Result<()> {
    let lambda = &ctx.clients.lambda;
    let Some(n) = spec.reserved_concurrency else {
        return lambda
            .delete_function_concurrency()
            .function_name(&spec.name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws("lambda:DeleteFunctionConcurrency", e));
    };
    match lambda
        .put_function_concurrency()
        .function_name(&spec.name)
        .reserved_concurrent_executions(n)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::says(&e, "InvalidParameterValueException", "UnreservedConcurrentExecution") => Err(aws("lambda:PutFunctionConcurrency", e)
            .context(format!(
                "reserving {n} concurrent executions for function {} would leave this account fewer than the 100 unreserved ones Lambda requires (`aws lambda get-account-settings` shows the account's limit; new accounts may have 10 or 50): lower [lambda.reserved_concurrency] in secauto.toml, set it to 0 to leave the function unreserved, or ask AWS for a higher concurrent-executions quota",
                spec.name
            ))),
        Err(e) => Err(aws("lambda:PutFunctionConcurrency", e)),
    }
}
