//! The `bootstrap` of every secauto function (provided.al2023).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use secauto_handlers::env::{Env, Function};
use secauto_handlers::{error_handler, notification, remediation, triage, Clients};
use serde_json::Value;

/// Stack for the threads that poll the handlers: remediation's future (EC2, Auto Scaling, S3, SSM
/// and Security Hub calls in one state machine) overflows the default 8 MiB main-thread stack in
/// debug builds.
const STACK: usize = 32 * 1024 * 1024;

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK)
        .build()?;
    std::thread::Builder::new()
        .name("bootstrap".into())
        .stack_size(STACK)
        .spawn(move || runtime.block_on(serve()))?
        .join()
        .map_err(|_| Error::from("the handler thread panicked"))?
}

async fn serve() -> Result<(), Error> {
    // One level for everything (RUST_LOG=debug, …; info by default): per-target filters would
    // link a regex engine into every bundle.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(false)
        .without_time()
        .init();
    let env = Env::from_env()?;
    // One HTTPS client (rustls with ring) for every SDK client, the assumed-role ones included.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https)
        .load()
        .await;
    let clients = Clients::new(&sdk);
    let triage_state = triage::Seen::default();
    let (env, clients, triage_state) = (&env, &clients, &triage_state);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        let deadline = deadline(event.context.deadline);
        let out = match env.function {
            Function::Triage => triage::handle(clients, env, triage_state, &payload).await,
            Function::Remediation => remediation::handle(clients, env, &payload, deadline).await,
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

/// Lambda's deadline (milliseconds since the epoch) as an instant of this process's clock.
/// `None` when Lambda gave none (0).
fn deadline(epoch_ms: u64) -> Option<std::time::Instant> {
    if epoch_ms == 0 {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let left = std::time::Duration::from_millis(epoch_ms).saturating_sub(now);
    Some(std::time::Instant::now() + left)
}
