//! A real PostgreSQL server for the suite: one per test binary, started on first use from
//! Debian's `postgresql` package (`initdb` in a temporary directory, as the `postgres` user
//! when the suite runs as root), on a free loopback port, trusting loopback connections. A
//! watchdog stops it and removes its directory when the test process is gone. It speaks TLS
//! with a certificate of its own (`ca_file`), which the routers are told to trust. Each test
//! takes a database of its own.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    pub bin: PathBuf,
    /// The server's self-signed certificate, for clients to trust.
    pub ca_file: PathBuf,
    /// Commands run as this user (`postgres` when the suite is root).
    run_as: Option<String>,
    /// The watchdog running the server; it ends after this process.
    _watchdog: Option<std::process::Child>,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL binaries: `NINEROUTER_PG_BIN`, else the newest under /usr/lib/postgresql.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NINEROUTER_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("PostgreSQL is installed (apt install postgresql; `make deps` does it)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// The suite's server, started on first use.
    pub fn shared() -> &'static Postgres {
        SERVER.get_or_init(Postgres::start)
    }

    fn command(&self, program: &str) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(self.bin.join(program));
                c
            }
            None => Command::new(self.bin.join(program)),
        }
    }

    fn start() -> Postgres {
        let bin = bin_dir();
        let run_as = is_root().then(|| "postgres".to_owned());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("ninerouter-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("PostgreSQL's directory");
        let mut server = Postgres {
            port,
            bin,
            ca_file: dir.join("server.crt"),
            run_as,
            _watchdog: None,
        };
        if let Some(user) = &server.run_as {
            let ok = Command::new("chown")
                .arg(user)
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {} to {user}", dir.display());
        }
        let data = dir.join("data");
        let init = server
            .command("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("initdb runs");
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        // A certificate for 127.0.0.1, made by the server's own user (its key must be theirs).
        let mut openssl = match &server.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "openssl"]);
                c
            }
            None => Command::new("openssl"),
        };
        let made = openssl
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(dir.join("server.key"))
            .arg("-out")
            .arg(dir.join("server.crt"))
            .output()
            .expect("openssl runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        // The watchdog: PostgreSQL runs while this process does, then stops and its files go.
        let script = r#"
chmod 600 "$1/server.key"
"$0" -D "$1/data" -p "$2" -h 127.0.0.1 -k "$1" -c fsync=off -c synchronous_commit=off \
  -c full_page_writes=off -c max_connections=200 \
  -c ssl=on -c ssl_cert_file="$1/server.crt" -c ssl_key_file="$1/server.key" >"$1/log" 2>&1 &
pg=$!
while [ -d "/proc/$3" ] && kill -0 "$pg" 2>/dev/null; do sleep 1; done
kill -INT "$pg" 2>/dev/null
wait "$pg"
rm -rf "$1"
"#;
        let mut watchdog = match &server.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "sh", "-c", script]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", script]);
                c
            }
        };
        let child = watchdog
            .arg(server.bin.join("postgres"))
            .arg(&dir)
            .arg(port.to_string())
            .arg(std::process::id().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("PostgreSQL starts");
        server._watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.connect("postgres").is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not accept connections: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The address of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub fn connect(&self, db: &str) -> Result<postgres::Client, postgres::Error> {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
    }

    /// A new, empty database; its address.
    pub fn database(&self) -> String {
        let name = format!("t{}", DATABASES.fetch_add(1, Ordering::SeqCst));
        let mut admin = self.connect("postgres").expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a database");
        self.url(&name)
    }

    /// `pg_dump` of a database, as text.
    pub fn dump(&self, url: &str) -> String {
        let out = Command::new(self.bin.join("pg_dump"))
            .arg(url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
