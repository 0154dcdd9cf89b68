//! `smsdesk webhook verify` run as a binary on each provider's official vectors: valid exits 0, tampered
//! exits non-zero, and the output says what was checked.

use std::path::PathBuf;
use std::process::Command;

/// A test's input files, in a temporary directory that goes with the test.
struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        Files(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

/// Runs the binary; answers (exit success, stdout).
fn verify(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_smsdesk"))
        .args(["webhook", "verify"])
        .args(args)
        .env_remove("SMSDESK_WEBHOOK_SECRET")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn telesign_t6() {
    let files = Files::new();
    let key = "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw==";
    let auth = "Authorization: TSA FFFFFFFF-EEEE-DDDD-1234-AB1234567890:B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744=";
    let good = files.file("t6.json", b"{'test': 123}");
    let bad = files.file("t6-bad.json", b"{'test': 124}");
    let url = "https://hooks.example.test/webhooks/telesign/ch_1";
    let (ok, out) = verify(&[
        "--provider",
        "telesign",
        "--url",
        url,
        "--secret",
        key,
        "--header",
        auth,
        "--body-file",
        path(&good),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("string signed: the raw body, 13 bytes") && out.contains("signature: valid"),
        "{out}"
    );
    let (ok, out) = verify(&[
        "--provider",
        "telesign",
        "--url",
        url,
        "--secret",
        key,
        "--header",
        auth,
        "--body-file",
        path(&bad),
    ]);
    assert!(!ok && out.contains("signature: NOT valid"), "{out}");
}

#[test]
fn twilio_w1() {
    let files = Files::new();
    let body =
        "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let good = files.file("w1.form", body.as_bytes());
    let bad = files.file("w1-bad.form", body.replace("Digits=1234", "Digits=1235").as_bytes());
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let sig = "X-Twilio-Signature: RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    let (ok, out) = verify(&[
        "--provider",
        "twilio",
        "--url",
        url,
        "--secret",
        "12345",
        "--header",
        sig,
        "--body-file",
        path(&good),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("URL variant https://mycompany.com:443/myapp.php?foo=1&bar=2"),
        "both variants are shown: {out}"
    );
    assert!(out.contains("CallSidCA1234567890ABCDECaller+14158675309"), "the string signed is shown: {out}");
    let (ok, out) = verify(&[
        "--provider",
        "twilio",
        "--url",
        url,
        "--secret",
        "12345",
        "--header",
        sig,
        "--body-file",
        path(&bad),
    ]);
    assert!(!ok, "{out}");
}

#[test]
fn vonage_v1_is_valid_and_its_stale_timestamp_only_noted() {
    let query = "message-timestamp=2013-11-21+15%3A27%3A30&messageId=020000001B0FE827&msisdn=14843472194&text=Test+again&timestamp=1385047698&to=13239877404&type=text&sig=d2e7b1dc968737c5998ad624e02f90b7";
    let url = format!("https://hooks.example.test/webhooks/vonage/ch_1?{query}");
    let (ok, out) = verify(&[
        "--provider",
        "vonage",
        "--method",
        "GET",
        "--url",
        &url,
        "--secret",
        "my_secret_key_for_testing",
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("note: timestamp is stale"), "{out}");
    assert!(out.contains("&message-timestamp=2013-11-21 15:27:30&messageId=020000001B0FE827"), "{out}");
    let tampered = url.replace("Test+again", "Test+again%21");
    let (ok, _) = verify(&[
        "--provider",
        "vonage",
        "--method",
        "GET",
        "--url",
        &tampered,
        "--secret",
        "my_secret_key_for_testing",
    ]);
    assert!(!ok);
    let (ok, out) = verify(&[
        "--provider",
        "vonage",
        "--method",
        "GET",
        "--url",
        &url,
        "--secret",
        "my_secret_key_for_testing",
        "--signature-method",
        "sha256",
    ]);
    assert!(!ok, "another method does not match: {out}");
}

#[test]
fn acs_compares_the_event_grid_secret() {
    let files = Files::new();
    let body = files.file("acs.json", br#"[{"eventType":"Microsoft.Communication.SMSReceived","data":{}}]"#);
    let secret = "eg-secret-0123456789abcdefghij";
    let url = format!("https://hooks.example.test/webhooks/acs/ch_1?secret={secret}");
    let (ok, out) =
        verify(&["--provider", "acs", "--url", &url, "--secret", secret, "--body-file", path(&body)]);
    assert!(ok, "{out}");
    let (ok, _) = verify(&[
        "--provider",
        "acs",
        "--url",
        &url,
        "--secret",
        "eg-secret-0123456789abcdefghiX",
        "--body-file",
        path(&body),
    ]);
    assert!(!ok);
}

#[test]
fn sns_s1_with_the_certificate_file() {
    let files = Files::new();
    let cert = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/providers/src/aws/testdata/sns-vector-cert.pem");
    let s1 = |message: &str| {
        serde_json::json!({
            "Type": "Notification", "MessageId": "792cda85-518f-5dd3-9163-81d851212f3a",
            "TopicArn": "arn:aws:sns:us-east-2:295079676684:publish-and-verify-892f85fe-4836-424d-8188-ab85bef0f362",
            "Message": message, "Timestamp": "2022-07-28T21:23:58.317Z", "SignatureVersion": "1",
            "Signature": "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfnmd5VpdTKpTyiKmy1qJAZXma0w+yi7G+I33hD1Jyk1Nbym2n0kqp3fVu2aoooiN2ZeLAT2bH0/BtjLSfN1yAOKNoprco4qV9gGUZinXJdj9a1YdNhDR2jKi33ldlsVtEXAtiaDklGEk7DgRKX38GerBPiLg3FdtgY6KC7cdeGpU/dGK+4hjc83Ive1HoFkAwqhpgInM2sMytBosoiXfCmOKmU4xeGD0gHDNZTlJUJQDlzw8Eag0H9f/5zXF9d3uy0YQ==",
            "SigningCertURL": "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
        })
        .to_string()
    };
    let good = files.file("s1.json", s1("Hello world").as_bytes());
    let bad = files.file("s1-bad.json", s1("Hello world!").as_bytes());
    let url = "https://hooks.example.test/webhooks/aws/ch_1";
    let (ok, out) = verify(&[
        "--provider",
        "aws",
        "--url",
        url,
        "--body-file",
        path(&good),
        "--cert-file",
        cert.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("note: the certificate expired"), "the expiry is beside the verdict: {out}");
    let (ok, _) = verify(&[
        "--provider",
        "aws",
        "--url",
        url,
        "--body-file",
        path(&bad),
        "--cert-file",
        cert.to_str().unwrap(),
    ]);
    assert!(!ok);
    let (ok, out) = verify(&["--provider", "aws", "--url", url, "--body-file", path(&good)]);
    assert!(!ok && out.contains("--cert-file"), "{out}");
}

#[test]
fn an_unknown_provider_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_smsdesk"))
        .args(["webhook", "verify", "--provider", "nope", "--url", "https://x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown provider 'nope'"));
}
