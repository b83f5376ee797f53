//! The `bootstrap` of every secauto function (provided.al2023).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use secauto_handlers::env::{Env, Function};
use secauto_handlers::{error_handler, notification, remediation, triage, Clients};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();
    let env = Env::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clients = Clients::new(&sdk);
    let triage_state = triage::Seen::default();
    let (env, clients, triage_state) = (&env, &clients, &triage_state);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        let out = match env.function {
            Function::Triage => triage::handle(clients, env, triage_state, &payload).await,
            Function::Remediation => remediation::handle(clients, env, &payload).await,
            Function::Notification => notification::handle(clients, env, &payload).await,
            Function::ErrorHandler => error_handler::handle(clients, env, &payload).await,
        };
        out.map_err(|e| {
            tracing::error!("{e:#}");
            Error::from(format!("{e:#}"))
        })
    }))
    .await
}
