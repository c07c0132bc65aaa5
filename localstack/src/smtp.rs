//! A small SMTP listener that does locally what SES inbound does in the cloud: it accepts
//! a message from any stock client (swaks, Python's smtplib, a mail program) and stores
//! its raw MIME in the inbound bucket under the receipt rule's prefix. From there the
//! bucket notification and the queue take over exactly as in the cloud.

use aws_sdk_s3::primitives::ByteStream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Where received mail goes: the receipt rule's S3 action.
#[derive(Debug, Clone)]
pub struct MailDrop {
    pub bucket: String,
    pub prefix: String,
}

/// SES inbound's limit on a received message.
pub const MAX_MESSAGE_BYTES: usize = 40 * 1024 * 1024;
const MAX_LINE_BYTES: usize = 4096;

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, s3: aws_sdk_s3::Client, drop: MailDrop) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let s3 = s3.clone();
        let drop = drop.clone();
        tokio::spawn(async move {
            if let Err(error) = session(stream, &s3, &drop).await {
                tracing::warn!(%peer, %error, "SMTP session ended with an error");
            }
        });
    }
}

async fn reply(stream: &mut (impl AsyncWriteExt + Unpin), text: &str) -> std::io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}

/// One SMTP session (RFC 5321, the subset clients use to submit mail).
async fn session(
    stream: TcpStream,
    s3: &aws_sdk_s3::Client,
    drop: &MailDrop,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    reply(
        &mut write,
        "220 crm-local ESMTP (stands in for SES inbound)",
    )
    .await?;
    let mut envelope_from: Option<String> = None;
    let mut recipients = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).await?;
        if read == 0 {
            return Ok(());
        }
        if line.len() > MAX_LINE_BYTES {
            reply(&mut write, "500 line too long").await?;
            continue;
        }
        let command = String::from_utf8_lossy(&line).trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                reply(
                    &mut write,
                    &format!(
                        "250-crm-local\r\n250-8BITMIME\r\n250-SIZE {MAX_MESSAGE_BYTES}\r\n250 HELP"
                    ),
                )
                .await?
            }
            "HELO" => reply(&mut write, "250 crm-local").await?,
            "MAIL" => {
                let from = command
                    .split_once(':')
                    .map(|(_, a)| a.split_whitespace().next().unwrap_or("<>").to_owned())
                    .unwrap_or_else(|| "<>".into());
                envelope_from = Some(from);
                recipients = 0;
                reply(&mut write, "250 OK").await?
            }
            "RCPT" if envelope_from.is_some() => {
                recipients += 1;
                reply(&mut write, "250 OK").await?
            }
            "RCPT" => reply(&mut write, "503 MAIL first").await?,
            "DATA" if recipients == 0 => reply(&mut write, "503 RCPT first").await?,
            "DATA" => {
                reply(&mut write, "354 end with <CRLF>.<CRLF>").await?;
                let message = read_data(&mut reader).await?;
                let Some(body) = message else {
                    reply(&mut write, "552 message exceeds the 40 MB limit").await?;
                    continue;
                };
                let from = envelope_from.take().unwrap_or_else(|| "<>".into());
                match store(s3, drop, &from, body).await {
                    Ok(key) => reply(&mut write, &format!("250 OK stored as {key}")).await?,
                    Err(error) => {
                        tracing::error!(%error, "cannot store received mail");
                        reply(&mut write, "451 cannot store the message now, try again").await?
                    }
                }
                recipients = 0;
            }
            "RSET" => {
                envelope_from = None;
                recipients = 0;
                reply(&mut write, "250 OK").await?
            }
            "NOOP" => reply(&mut write, "250 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 bye").await?;
                return Ok(());
            }
            _ => reply(&mut write, "502 command not implemented").await?,
        }
    }
}

/// Reads DATA up to the lone dot, undoing dot-stuffing. `None` when over the limit (the
/// rest is still read so the session stays in step).
async fn read_data(
    reader: &mut (impl AsyncBufReadExt + Unpin),
) -> std::io::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    let mut too_large = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!too_large).then_some(body));
        }
        let content = if line.starts_with(b"..") {
            &line[1..]
        } else {
            &line[..]
        };
        if body.len() + content.len() > MAX_MESSAGE_BYTES {
            too_large = true;
            body.clear();
        } else if !too_large {
            body.extend_from_slice(content);
        }
    }
}

async fn store(
    s3: &aws_sdk_s3::Client,
    drop: &MailDrop,
    envelope_from: &str,
    body: Vec<u8>,
) -> Result<String, String> {
    // What the receiving MTA prepends, as SES does.
    let mut raw = format!(
        "Return-Path: {envelope_from}\r\nReceived: from localhost by crm-local; {}\r\n",
        chrono::Utc::now().to_rfc2822()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let key = format!("{}{}", drop.prefix, uuid::Uuid::now_v7().simple());
    s3.put_object()
        .bucket(&drop.bucket)
        .key(&key)
        .content_type("message/rfc822")
        .body(ByteStream::from(raw))
        .send()
        .await
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
    Ok(key)
}
