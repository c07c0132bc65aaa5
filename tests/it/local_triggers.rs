//! The local stand-ins for the cloud triggers, over real sockets: a stock SMTP session into
//! the inbound bucket, and the gateway's JWT check and routing.

use crm_domain::staff::Role;
use integration_tests::TestStack;
use std::collections::HashMap;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

async fn expect(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: &str) -> String {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            return line;
        }
    }
}

#[tokio::test]
async fn an_smtp_session_stores_the_mail_as_ses_inbound_would_and_it_becomes_a_lead() {
    let t = TestStack::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(crm_local::smtp::serve(
        listener,
        t.setup.s3.clone(),
        t.stack.mail_drop().unwrap(),
    ));

    let stream = TcpStream::connect(address).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    expect(&mut reader, "220").await;
    for (command, code) in [
        ("EHLO client.test", "250"),
        ("MAIL FROM:<>", "250"),
        ("RCPT TO:<sales@vacuum-zavod.example>", "250"),
        ("DATA", "354"),
    ] {
        write
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        expect(&mut reader, code).await;
    }
    write
        .write_all(b"From: Smtp Test <smtp@client.test>\r\nSubject: via SMTP\r\nMessage-ID: <smtp.1@client.test>\r\n\r\n..leading dot kept\r\nBody\r\n.\r\n")
        .await
        .unwrap();
    let stored = expect(&mut reader, "250").await;
    write.write_all(b"QUIT\r\n").await.unwrap();
    expect(&mut reader, "221").await;
    server.abort();

    let key = stored.trim().rsplit(' ').next().unwrap().to_owned();
    let raw = t.object(&t.inbound_bucket(), &key).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(
        text.starts_with("Return-Path: <>\r\n"),
        "the envelope sender is kept: {text}"
    );
    assert!(
        text.contains("\r\n.leading dot kept\r\n"),
        "dot-stuffing undone"
    );
    // An empty envelope sender marks automatic mail, so this is recorded, not a lead.
    assert_eq!(t.process_inbound(1).await, 0);
    let record = t
        .store
        .intake_record("email#smtp.1@client.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.kind, "auto_reply");
}

async fn http(address: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn the_gateway_checks_tokens_like_the_jwt_authorizer_and_routes_by_the_template() {
    let t = TestStack::new().await;
    let api = t.api.clone();
    let handler = crm_local::functions::http_handler(api);
    let gateway = t
        .stack
        .gateway(&HashMap::from([("ApiFunction".to_owned(), handler)]))
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(crm_local::gateway::serve(listener, gateway));

    let get = |path: &str, token: Option<&str>| {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!("GET {path} HTTP/1.1\r\nHost: local\r\n{auth}Connection: close\r\n\r\n")
    };
    let tokens = t.stack.dev_tokens("StaffJwt").unwrap();
    let now = chrono::Utc::now().timestamp();
    let valid = tokens.issue(&t.heads[0].id, Role::Head, now, 600);
    let expired = tokens.issue(&t.heads[0].id, Role::Head, now - 7200, 600);

    let (status, body) = http(address, &get("/api/inquiries", None)).await;
    assert_eq!(
        (status, body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    assert_eq!(
        http(address, &get("/api/inquiries", Some(&expired)))
            .await
            .0,
        401
    );
    assert_eq!(
        http(address, &get("/api/inquiries", Some("abc.def.ghi")))
            .await
            .0,
        401
    );
    let (status, body) = http(
        address,
        &get("/api/inquiries?status=unrouted", Some(&valid)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"items\":[]"));
    assert_eq!(
        http(address, &get("/not/a/route", Some(&valid))).await.0,
        404
    );
    server.abort();
}
