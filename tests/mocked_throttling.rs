//! SNS answers throttling with its own code, `Throttled`, and HTTP 429 — in neither of the SDK's
//! lists (throttling codes; 500, 502, 503, 504), so the SDK alone fails at the first throttle.
//! secauto's clients treat any 429 as throttling (`retry::TooManyRequests`). A loopback server
//! answers as SNS documents (`Throttled`/429, then the real answer): retried within
//! `[aws] max_attempts`, and no further.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use secauto::aws::{Clients, Connection};

const THROTTLED: &str = "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>Throttled</Code><Message>Throttled request.</Message></Error><RequestId>1</RequestId></ErrorResponse>";
const TOPICS: &str = "<ListTopicsResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTopicsResult><Topics><member><TopicArn>arn:aws:sns:us-east-1:123456789012:t</TopicArn></member></Topics></ListTopicsResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></ListTopicsResponse>";

/// Serve `throttles` 429 answers, then ListTopics; count the requests.
fn sns(throttles: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let n = count.fetch_add(1, Ordering::SeqCst);
            let (status, text) = if n < throttles {
                ("429 Too Many Requests", THROTTLED)
            } else {
                ("200 OK", TOPICS)
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, seen)
}

async fn clients(url: &str, max_attempts: u32) -> Clients {
    let conn = Connection {
        endpoint_url: Some(url.into()),
        calls: secauto::config::AwsConfig {
            max_attempts,
            max_backoff_seconds: 1,
            ..Default::default()
        },
        ..Connection::default()
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .retry_config(secauto::aws::retry_config(&conn.calls))
        .load()
        .await;
    Clients::new(&sdk, &conn)
}

#[tokio::test]
async fn mocked_sns_throttled_429_is_retried() {
    let (url, seen) = sns(2);
    let out = clients(&url, 10).await.sns.list_topics().send().await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "two throttles, then the answer"
    );
}

#[tokio::test]
async fn mocked_sns_throttled_beyond_the_budget_is_an_error_naming_it() {
    let (url, seen) = sns(5);
    let err = clients(&url, 3)
        .await
        .sns
        .list_topics()
        .send()
        .await
        .unwrap_err();
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(err)
    );
    assert!(text.contains("Throttled"), "{text}");
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "[aws] max_attempts bounds the retries"
    );
}
