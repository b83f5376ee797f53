//! An S3 client straight to an emulator, for checking what is really there.

/// Path-style S3 in us-east-1 at `url`, with the emulators' test credentials.
pub fn client(url: &str) -> aws_sdk_s3::Client {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .endpoint_url(url)
            .force_path_style(true)
            .build(),
    )
}
