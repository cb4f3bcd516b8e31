//! `ferry serve --root s3://BUCKET[/PREFIX]` at start-up, against a real
//! S3 server (SeaweedFS): every reason the bucket cannot be served stops
//! the server with exit 2 and says which, before anything is bound.

use std::process::Output;

use ferry_interop::ferry;
use ferry_interop::seaweedfs::{free_port, make_bucket, weed, KEY, SECRET};

/// `ferry serve` on `root` with these AWS_* settings (others cleared) and
/// extra arguments.
fn serve(root: &str, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut command = ferry();
    command
        .args([
            "serve",
            "--root",
            root,
            "--ftp",
            "127.0.0.1:0",
            "--tftp",
            "127.0.0.1:0",
        ])
        .args(extra);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run ferry serve")
}

fn assert_refused(output: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(reason), "wanted {reason:?} in: {stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[test]
fn start_up_stops_with_exit_2_and_the_reason() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "served");
    let endpoint = weed.endpoint.as_str();
    let keys = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = keys.to_vec();
        env.extend_from_slice(extra);
        env
    };

    let missing = serve(
        "s3://no-such-bucket/x",
        &with(&[]),
        &["--s3-endpoint", endpoint],
    );
    assert_refused(&missing, "S3 bucket \"no-such-bucket\" does not exist");

    let wrong_secret = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
    ];
    let refused = serve("s3://served", &wrong_secret, &["--s3-endpoint", endpoint]);
    assert_refused(&refused, "S3 credentials refused");

    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let unreachable = serve("s3://served", &with(&[]), &["--s3-endpoint", &nowhere]);
    assert_refused(&unreachable, "unreachable");

    let no_keys = serve("s3://served", &[], &["--s3-endpoint", endpoint]);
    assert_refused(&no_keys, "no S3 credentials");
    let no_endpoint = serve("s3://served", &with(&[]), &[]);
    assert_refused(&no_endpoint, "no S3 endpoint");
    assert_refused(
        &serve("s3://", &with(&[]), &["--s3-endpoint", endpoint]),
        "no bucket name",
    );

    // The endpoint from the environment works as well as the flag. A bucket
    // that answers is not served yet: the server says so instead of
    // serving something else.
    let mut env = with(&[]);
    env.push(("AWS_ENDPOINT_URL", endpoint));
    let answered = serve("s3://served/pre", &env, &[]);
    assert_refused(&answered, "not implemented yet");
}
