//! One tray app per data folder. The first launch holds a lock on `desktop.lock` for its life
//! (the system lets go of it however the app ends) and listens on a loopback port for later
//! launches. A later launch finds the lock taken, hands its arguments over through that port
//! and exits. The port and a token are in `desktop.handover`, readable by the data folder's
//! owner only: another user's process cannot reach the app, nor make it open its window.
//! Only std: the same code on every platform, the one tested here.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

const LOCK_FILE: &str = "desktop.lock";
const HANDOVER_FILE: &str = "desktop.handover";
/// A launch's arguments are a few hundred bytes; anything longer is not a launch.
const MOST_BYTES: usize = 64 * 1024;
/// How long a connection may take to say what it has to say.
const READ_WITHIN: Duration = Duration::from_secs(2);
/// How long a later launch waits for the first one to start listening.
const FIRST_STARTS_WITHIN: Duration = Duration::from_secs(5);
/// Connections read at once; more are turned away (a launch tries again).
const MOST_AT_ONCE: usize = 8;
/// The running app's answer to a launch it took.
const TAKEN: &[u8] = b"taken\n";

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("cannot use {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen for later launches: {0}")]
    Listen(std::io::Error),
    #[error("the running NineRouter did not answer: {0}")]
    HandOver(String),
}

/// What a launch is.
pub enum Claim {
    /// The first: it runs the app.
    First(Instance),
    /// Another runs already.
    Taken,
}

/// The running app's hold on its data folder, and its ear for later launches.
pub struct Instance {
    lock: File,
    listener: TcpListener,
    token: String,
}

/// Where the running app listens, and the token it wants.
#[derive(Serialize, Deserialize)]
struct Handover {
    port: u16,
    token: String,
}

/// What a later launch sends.
#[derive(Serialize, Deserialize)]
struct Launch {
    token: String,
    argv: Vec<String>,
}

/// Takes the data folder for this launch, or finds that another has it.
pub fn claim(data_dir: &Path) -> Result<Claim, InstanceError> {
    let lock_path = data_dir.join(LOCK_FILE);
    let file_error = |source| InstanceError::File {
        path: lock_path.clone(),
        source,
    };
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(file_error)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Claim::Taken),
        Err(TryLockError::Error(e)) => return Err(file_error(e)),
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(InstanceError::Listen)?;
    let port = listener.local_addr().map_err(InstanceError::Listen)?.port();
    let token = ninerouter::secrets::random_token("nrl-");
    write_private(
        &data_dir.join(HANDOVER_FILE),
        &serde_json::to_vec(&Handover {
            port,
            token: token.clone(),
        })
        .unwrap_or_default(),
    )?;
    Ok(Claim::First(Instance {
        lock,
        listener,
        token,
    }))
}

/// Writes `bytes` to `path` whole (a reader never sees half), readable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), InstanceError> {
    let partial = path.with_extension("partial");
    let file_error = |source| InstanceError::File {
        path: path.to_owned(),
        source,
    };
    // A file left by a crash keeps its old mode when opened: it goes first.
    let _ = std::fs::remove_file(&partial);
    let mut options = OpenOptions::new();
    options.create_new(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(file_error)?;
    file.write_all(bytes).map_err(file_error)?;
    drop(file);
    std::fs::rename(&partial, path).map_err(file_error)
}

impl Instance {
    /// Answers later launches, on a thread of its own, for the app's life: `on_launch` gets
    /// each one's arguments. The returned hold keeps the data folder until it is let go.
    pub fn serve(self, on_launch: impl Fn(Vec<String>) + Send + Sync + 'static) -> Hold {
        let Instance {
            lock,
            listener,
            token,
        } = self;
        let on_launch = Arc::new(on_launch);
        let token = Arc::new(token);
        let reading = Arc::new(AtomicUsize::new(0));
        let spawned = std::thread::Builder::new()
            .name("ninerouter-launches".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else {
                        // Out of descriptors, say: wait rather than spin.
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    };
                    // Each connection on a thread of its own, so that a slow one holds up no
                    // other launch; a few at once at most.
                    if reading.fetch_add(1, Ordering::AcqRel) >= MOST_AT_ONCE {
                        reading.fetch_sub(1, Ordering::AcqRel);
                        continue;
                    }
                    let (on_launch, token, done) =
                        (on_launch.clone(), token.clone(), reading.clone());
                    let spawned = std::thread::Builder::new()
                        .name("ninerouter-launch".into())
                        .spawn(move || {
                            answer(stream, &token, &*on_launch);
                            done.fetch_sub(1, Ordering::AcqRel);
                        });
                    if spawned.is_err() {
                        reading.fetch_sub(1, Ordering::AcqRel);
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot answer later launches: {e}");
        }
        Hold(Some(lock))
    }
}

/// Reads one connection: a launch with the right token is taken, and told so.
fn answer(stream: TcpStream, token: &str, on_launch: &dyn Fn(Vec<String>)) {
    let Ok(mut reply) = stream.try_clone() else {
        return;
    };
    match read_launch(stream, token, READ_WITHIN) {
        Some(argv) => {
            let _ = reply.set_write_timeout(Some(READ_WITHIN));
            let _ = reply.write_all(TAKEN);
            on_launch(argv);
        }
        None => tracing::warn!("ignored a connection that was not a launch"),
    }
}

/// The data folder held by the running app.
pub struct Hold(Option<File>);

impl Hold {
    /// Lets the data folder go before the app ends, so that the app it starts (after an
    /// update) is the first launch.
    pub fn release(&mut self) {
        self.0.take();
    }
}

/// A launch's arguments, if the connection sends a good one within `within`.
fn read_launch(mut stream: TcpStream, token: &str, within: Duration) -> Option<Vec<String>> {
    let deadline = Instant::now() + within;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    while !bytes.contains(&b'\n') {
        let left = deadline.checked_duration_since(Instant::now())?;
        stream.set_read_timeout(Some(left)).ok()?;
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..read]);
        if bytes.len() > MOST_BYTES {
            return None;
        }
    }
    let line = bytes.split(|&b| b == b'\n').next()?;
    let launch: Launch = serde_json::from_slice(line).ok()?;
    ninerouter::secrets::same_token(token, &launch.token).then_some(launch.argv)
}

/// Hands this launch's arguments to the running app. It may be starting still (its lock
/// taken, its port not yet written): tried again for a few seconds.
pub fn hand_over(data_dir: &Path, argv: Vec<String>) -> Result<(), InstanceError> {
    let deadline = Instant::now() + FIRST_STARTS_WITHIN;
    loop {
        match try_hand_over(data_dir, &argv) {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(InstanceError::HandOver(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn try_hand_over(data_dir: &Path, argv: &[String]) -> Result<(), String> {
    let text = std::fs::read(data_dir.join(HANDOVER_FILE)).map_err(|e| e.to_string())?;
    let handover: Handover = serde_json::from_slice(&text).map_err(|e| e.to_string())?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, handover.port));
    let mut stream =
        TcpStream::connect_timeout(&address, READ_WITHIN).map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(READ_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut line = serde_json::to_vec(&Launch {
        token: handover.token,
        argv: argv.to_vec(),
    })
    .map_err(|e| e.to_string())?;
    line.push(b'\n');
    stream.write_all(&line).map_err(|e| e.to_string())?;
    // Taken only when the app says so: a port written by an app that has since ended, or
    // reused by another program, says nothing.
    stream
        .set_read_timeout(Some(READ_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut said = Vec::new();
    let _ = (&mut stream)
        .take(TAKEN.len() as u64)
        .read_to_end(&mut said);
    if said == TAKEN {
        Ok(())
    } else {
        Err("the running app did not take the launch".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    fn first(dir: &Path) -> Instance {
        match claim(dir).expect("claim") {
            Claim::First(instance) => instance,
            Claim::Taken => panic!("the folder was free"),
        }
    }

    #[test]
    fn a_later_launch_finds_the_folder_taken_and_hands_its_arguments_over() {
        let dir = tempfile::tempdir().expect("dir");
        let (tx, rx) = mpsc::channel();
        let mut hold = first(dir.path()).serve(move |argv| {
            let _ = tx.send(argv);
        });
        assert!(matches!(claim(dir.path()), Ok(Claim::Taken)));
        hand_over(dir.path(), vec!["app".into(), "--hidden".into()]).expect("handed over");
        let argv = rx.recv_timeout(Duration::from_secs(5)).expect("a launch");
        assert_eq!(argv, ["app", "--hidden"]);
        // Let go (as before a restart), the folder is free for the next launch.
        hold.release();
        assert!(matches!(claim(dir.path()), Ok(Claim::First(_))));
    }

    #[test]
    fn a_launch_nobody_takes_is_not_handed_over() {
        // A handover file left pointing at a port that another program now holds: it reads
        // the launch and says nothing.
        let dir = tempfile::tempdir().expect("dir");
        let stranger = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let port = stranger.local_addr().expect("address").port();
        std::fs::write(
            dir.path().join(HANDOVER_FILE),
            serde_json::to_vec(&Handover {
                port,
                token: "old".into(),
            })
            .expect("json"),
        )
        .expect("handover file");
        let reader = std::thread::spawn(move || {
            let (mut stream, _) = stranger.accept().expect("accept");
            let mut line = [0u8; 256];
            let _ = stream.read(&mut line);
        });
        let handed = try_hand_over(dir.path(), &["app".into()]);
        let _ = reader.join();
        assert!(handed.is_err(), "{handed:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_handover_file_is_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let _instance = first(dir.path());
        let mode = std::fs::metadata(dir.path().join(HANDOVER_FILE))
            .expect("handover file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// A connection to the listening port, sending `bytes`; what the app made of it.
    fn send_raw(bytes: &[u8], within: Duration) -> Option<Vec<String>> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        let address = listener.local_addr().expect("address");
        let bytes = bytes.to_vec();
        let sender = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(address).expect("connect");
            let _ = stream.write_all(&bytes);
            // Held open: the reader must not wait for the end of the stream.
            std::thread::park_timeout(Duration::from_secs(10));
        });
        let (stream, _) = listener.accept().expect("accept");
        let launch = read_launch(stream, "good-token", within);
        sender.thread().unpark();
        let _ = sender.join();
        launch
    }

    #[test]
    fn only_a_launch_with_the_token_is_obeyed() {
        let launch = |token: &str| {
            let mut line = serde_json::to_vec(&Launch {
                token: token.into(),
                argv: vec!["app".into()],
            })
            .expect("json");
            line.push(b'\n');
            line
        };
        let wait = Duration::from_secs(5);
        assert_eq!(
            send_raw(&launch("good-token"), wait),
            Some(vec!["app".into()])
        );
        assert_eq!(send_raw(&launch("bad-token!"), wait), None);
        assert_eq!(send_raw(&launch("good-toke"), wait), None);
        assert_eq!(send_raw(b"not json\n", wait), None);
    }

    #[test]
    fn a_connection_that_says_too_much_or_too_little_is_dropped() {
        // Longer than any launch, with no end of line.
        let flood = vec![b'x'; MOST_BYTES + 4096];
        assert_eq!(send_raw(&flood, Duration::from_secs(5)), None);
        // Silent, with the line never finished: dropped at the deadline, not waited for.
        let started = Instant::now();
        assert_eq!(send_raw(b"{\"token\":", Duration::from_millis(200)), None);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
