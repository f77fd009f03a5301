//! The built desktop app end to end, on a real X server (Xvfb) and a real session bus
//! (`dbus-run-session`), as `make test` runs it: the tray menu read and clicked over dbusmenu,
//! the router answering on its port, notifications received by a fake notification server,
//! start at login, single instance, updates against a local manifest, and the dashboard
//! window driven through WebDriver (tauri-driver + WebKitWebDriver).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod at_rest;
#[allow(dead_code)]
#[path = "../../../tests/support/fake_openai.rs"]
mod fake_openai;
mod session;
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_openai::{Behavior, FakeOpenAi};
use serde_json::{Value, json};
use session::{FakeDesktop, bus_name_of, click_label, wait_for_item, window_titles};

/// The app is single-instance per session bus, so its tests take turns.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const BIN: &str = env!("CARGO_BIN_EXE_ninerouter-desktop");

/// The app these tests run: the debug build beside them, or another build (a release build,
/// to measure what users get) named by NINEROUTER_DESKTOP_BIN.
fn app_binary() -> String {
    std::env::var("NINEROUTER_DESKTOP_BIN").unwrap_or_else(|_| BIN.to_owned())
}

pub fn required() -> bool {
    if std::env::var("NINEROUTER_DESKTOP_TEST").is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "skipped: the desktop tests need an X display and a session bus; `make test` runs them \
         under xvfb-run and dbus-run-session with NINEROUTER_DESKTOP_TEST=1"
    );
    false
}

/// A home, data directory and config for one app run.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Sandbox {
    pub fn new(config: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home/.config")).expect("home");
        install_test_browser(&dir.path().join("home"));
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Sandbox { dir, port }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn autostart_entry(&self) -> PathBuf {
        self.home().join(".config/autostart/NineRouter.desktop")
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let p = |s: &Path| s.display().to_string();
        vec![
            ("HOME".into(), p(&self.home())),
            ("XDG_CONFIG_HOME".into(), p(&self.home().join(".config"))),
            ("XDG_DATA_HOME".into(), p(&self.home().join(".local/share"))),
            (
                "NINEROUTER_DATA_DIR".into(),
                p(&self.dir.path().join("data")),
            ),
            (
                "NINEROUTER_CONFIG".into(),
                p(&self.dir.path().join("config.toml")),
            ),
            ("NINEROUTER_PORT".into(), self.port.to_string()),
            ("NINEROUTER_SECRETS".into(), "file".into()),
            (
                "NINEROUTER_LOG".into(),
                "info,ninerouter_desktop=debug".into(),
            ),
            // No accessibility bus to start for every window.
            ("NO_AT_BRIDGE".into(), "1".into()),
        ]
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Gives the router a dashboard password before it starts, as `ninerouter admin
    /// set-password` does.
    pub async fn set_password(&self, password: &str) {
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let store = ninerouter::store::Store::open(&data.join("ninerouter.db")).expect("database");
        ninerouter::manage::admin::set_password_offline(&store, Some(password.into()))
            .await
            .expect("password set");
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("app.log")
    }

    fn launch(&self, args: &[&str], extra_env: &[(&str, String)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("log file");
        Command::new(app_binary())
            .args(args)
            .envs(self.env())
            .envs(extra_env.iter().map(|(k, v)| (*k, v.clone())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the app starts")
    }

    /// The pages the app opened in the "system browser".
    pub fn opened_pages(&self) -> String {
        std::fs::read_to_string(self.home().join("opened.txt")).unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }
}

/// The "system browser": the default https handler for xdg-open in this home, which writes
/// down the pages it is asked to open (`opened_pages`).
fn install_test_browser(home: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let apps = home.join(".local/share/applications");
    std::fs::create_dir_all(&apps).expect("applications dir");
    let script = home.join("test-browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\n",
            home.join("opened.txt").display()
        ),
    )
    .expect("browser script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        apps.join("test-browser.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Test browser\nExec={} %u\nMimeType=x-scheme-handler/https;\n",
            script.display()
        ),
    )
    .expect("desktop entry");
    std::fs::write(
        home.join(".config/mimeapps.list"),
        "[Default Applications]\nx-scheme-handler/https=test-browser.desktop\n",
    )
    .expect("mimeapps.list");
}

impl Drop for Sandbox {
    /// A failing test shows what the app said.
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- app log ---\n{}", self.log_text());
        }
    }
}

/// The two combos the tray switches between, on one fake OpenAI-compatible upstream whose
/// accounts (keys) tell which combo served a request.
fn config(fake: &FakeOpenAi) -> String {
    let node = |key: &str, prefix: &str, priority: u32| {
        format!(
            "[[provider]]\nprovider = \"openai-compatible\"\nname = \"{key}\"\nprefix = \"{prefix}\"\n\
             base_url = \"{}\"\napi_key = \"{key}\"\npriority = {priority}\n\n",
            fake.base_url()
        )
    };
    format!(
        "[routing]\ncooldown_base_ms = 60000\ncooldown_max_ms = 60000\n\n{}{}\
         [[combo]]\nname = \"cheap\"\nmodels = [\"cheapnode/m-cheap\"]\n\n\
         [[combo]]\nname = \"smart\"\nmodels = [\"smartnode/m-smart\", \"cheapnode/m-cheap\"]\n",
        node("cheap-key", "cheapnode", 1),
        node("smart-key", "smartnode", 2),
    )
}

/// The bus name the app publishes its tray menu under, once it has.
async fn tray_menu_of(app: &Child) -> String {
    let pid = app.id();
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(bus) = bus_name_of(pid) {
                return bus;
            }
            assert!(Instant::now() < deadline, "the app published no tray menu");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .expect("bus lookup")
}

/// The app started tray-only (`--hidden`) in a sandbox of its own, beside a fake desktop (a
/// tray host and a notification server) and a fake provider: listening, its menu on the bus.
pub struct TrayApp {
    pub desktop: FakeDesktop,
    pub fake: FakeOpenAi,
    pub sandbox: Sandbox,
    pub app: Child,
    pub http: reqwest::Client,
    pub bus: String,
}

pub async fn start_tray_app(extra_env: &[(&str, String)]) -> TrayApp {
    let desktop = FakeDesktop::start();
    let fake = FakeOpenAi::start().await;
    let sandbox = Sandbox::new(&config(&fake));
    let app = sandbox.launch(&["--hidden"], extra_env);
    let http = reqwest::Client::new();
    wait_until_listening(&http, &sandbox.base(), || sandbox.log_text()).await;
    let bus = tray_menu_of(&app).await;
    TrayApp {
        desktop,
        fake,
        sandbox,
        app,
        http,
        bus,
    }
}

async fn ask_default(http: &reqwest::Client, base: &str) -> (u16, Value) {
    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({"model": "default", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("the router answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn wait_until_listening(http: &reqwest::Client, base: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while http.get(format!("{base}/api/status")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the router never answered:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the switch to land in the engine (GTK ticks a clicked check item by itself, so
/// the menu alone does not prove it).
async fn wait_active(http: &reqwest::Client, base: &str, name: &str) {
    wait_for(&format!("the active combo to be {name}"), async || {
        let active: Value = match http.get(format!("{base}/api/active-combo")).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        active["name"] == name
    })
    .await;
}

pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves an update manifest for version 9.9.9 whose payload is signed by a key other than
/// the app's: the app must announce it and then refuse to install it.
async fn fake_update_server() -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let signature = include_str!("../fixtures/update/payload.bin.sig")
        .trim()
        .to_owned();
    let manifest = json!({
        "version": "9.9.9",
        "notes": "test release",
        "pub_date": "2026-11-21T00:00:00Z",
        "platforms": {
            "linux-x86_64": {"signature": signature, "url": format!("{base}/payload.bin")},
            "linux-aarch64": {"signature": signature, "url": format!("{base}/payload.bin")}
        }
    });
    let app = axum::Router::new()
        .route(
            "/latest.json",
            get(move || async move { axum::Json(manifest) }),
        )
        .route(
            "/payload.bin",
            get(|| async { include_bytes!("../fixtures/update/payload.bin").to_vec() }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("{base}/latest.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_tray_app_hosts_the_router_and_its_menu_drives_it() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let update_url = fake_update_server().await;
    let TrayApp {
        desktop,
        fake,
        sandbox,
        mut app,
        http,
        bus,
    } = start_tray_app(&[("NINEROUTER_UPDATE_URL", update_url)]).await;
    let base = sandbox.base();

    // Tray-only: a tray host exists, so --hidden opens no window.
    let status = wait_for_item(&bus, "status", |i| {
        i.label.starts_with("NineRouter is running")
    });
    assert_eq!(status.label, format!("NineRouter is running · {base}"));
    assert!(!status.enabled);
    assert!(
        !window_titles().iter().any(|t| t == "NineRouter"),
        "no window when hidden"
    );
    let combos = session::menu(&bus);
    assert!(combos.iter().any(|i| i.label == "Active Combo"));
    for name in ["cheap", "smart"] {
        let item = combos.iter().find(|i| i.label == name);
        assert_eq!(
            item.and_then(|i| i.checked),
            Some(false),
            "{name} not active yet"
        );
    }
    let open_item = wait_for_item(&bus, "Open Dashboard", |i| i.label == "Open Dashboard");

    // Switching the active combo from the tray changes where `default` goes.
    click_label(&bus, "smart");
    wait_active(&http, &base, "smart").await;
    wait_for_item(&bus, "smart checked", |i| {
        i.label == "smart" && i.checked == Some(true)
    });
    let (code, _) = ask_default(&http, &base).await;
    assert_eq!(code, 200);
    assert_eq!(
        fake.keys_seen().last().map(String::as_str),
        Some("smart-key")
    );
    click_label(&bus, "cheap");
    wait_active(&http, &base, "cheap").await;
    wait_for_item(&bus, "cheap checked", |i| {
        i.label == "cheap" && i.checked == Some(true)
    });
    wait_for_item(&bus, "smart unchecked", |i| {
        i.label == "smart" && i.checked == Some(false)
    });
    let (code, _) = ask_default(&http, &base).await;
    assert_eq!(code, 200);
    assert_eq!(
        fake.keys_seen().last().map(String::as_str),
        Some("cheap-key")
    );
    // Updated in place: the items kept their ids (a rebuilt menu gets new ones).
    let open_after = wait_for_item(&bus, "Open Dashboard", |i| i.label == "Open Dashboard");
    assert_eq!(open_after.id, open_item.id);

    // Pause and resume.
    click_label(&bus, "Pause Routing");
    wait_for_item(&bus, "resume", |i| i.label == "Resume Routing");
    wait_for_item(&bus, "paused status", |i| {
        i.label.starts_with("Routing paused")
    });
    let (code, body) = ask_default(&http, &base).await;
    assert_eq!(code, 503, "{body}");
    click_label(&bus, "Resume Routing");
    wait_for_item(&bus, "pause", |i| i.label == "Pause Routing");
    assert_eq!(ask_default(&http, &base).await.0, 200);

    // A fallback is taken (smart's first member is rate limited) and the user is told, once.
    click_label(&bus, "smart");
    wait_active(&http, &base, "smart").await;
    wait_for_item(&bus, "smart checked", |i| {
        i.label == "smart" && i.checked == Some(true)
    });
    fake.always("smart-key", Behavior::rate_limited(600));
    assert_eq!(ask_default(&http, &base).await.0, 200);
    assert_eq!(ask_default(&http, &base).await.0, 200);
    wait_for("the fallback and cooldown notices", async || {
        let shown = desktop.shown();
        shown.iter().any(|(t, _)| t == "Fallback taken")
            && shown
                .iter()
                .any(|(t, _)| t.ends_with("account cooling down"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = desktop.shown();
    let fallbacks: Vec<_> = shown
        .iter()
        .filter(|(t, _)| t == "Fallback taken")
        .collect();
    assert_eq!(
        fallbacks.len(),
        1,
        "throttled to one per subject: {shown:?}"
    );
    assert!(
        fallbacks[0].1.starts_with(
            "smart: smartnode/m-smart was rate limited, so cheapnode/m-cheap answered"
        ),
        "{fallbacks:?}"
    );
    // Notifications off: nothing more is shown.
    click_label(&bus, "Notifications");
    wait_for_item(&bus, "notifications off", |i| {
        i.label == "Notifications" && i.checked == Some(false)
    });
    let before = desktop.shown().len();
    fake.always("cheap-key", Behavior::rate_limited(600));
    let (code, _) = ask_default(&http, &base).await;
    assert_eq!(code, 429);
    wait_for_item(&bus, "smart cooling", |i| {
        i.label.starts_with("smart (all accounts cooling until")
    });
    assert_eq!(desktop.shown().len(), before, "{:?}", desktop.shown());

    // Start at login writes the autostart entry (starting hidden) and removes it.
    assert!(!sandbox.autostart_entry().exists());
    click_label(&bus, "Start at Login");
    wait_for("the autostart entry", async || {
        sandbox.autostart_entry().exists()
    })
    .await;
    let entry = std::fs::read_to_string(sandbox.autostart_entry()).expect("entry");
    assert!(entry.contains(BIN) && entry.contains("--hidden"), "{entry}");
    wait_for_item(&bus, "checked", |i| {
        i.label == "Start at Login" && i.checked == Some(true)
    });
    click_label(&bus, "Start at Login");
    wait_for("the entry to go", async || {
        !sandbox.autostart_entry().exists()
    })
    .await;

    // Updates: found and announced, then refused because the signature does not match.
    click_label(&bus, "Notifications");
    wait_for_item(&bus, "notifications on", |i| {
        i.label == "Notifications" && i.checked == Some(true)
    });
    click_label(&bus, "Check for Updates");
    wait_for_item(&bus, "the update", |i| i.label == "Install Update 9.9.9…");
    wait_for("the update notice", async || {
        desktop
            .shown()
            .iter()
            .any(|(t, _)| t == "NineRouter 9.9.9 is available")
    })
    .await;
    click_label(&bus, "Install Update 9.9.9");
    wait_for_item(&bus, "the refusal", |i| {
        i.label == "Check for Updates… (last try failed)"
    });
    wait_for("the failure notice", async || {
        desktop.shown().iter().any(|(t, b)| {
            t == "The update could not be installed" && b.to_lowercase().contains("signature")
        })
    })
    .await;
    assert_eq!(
        ask_default(&http, &base).await.0,
        429,
        "the router kept running"
    );

    // A second launch hands over to this one (which opens its window) and exits.
    let second = sandbox
        .launch(&[], &[])
        .wait_with_output()
        .expect("second launch");
    assert!(second.status.success(), "{second:?}");
    wait_for("the dashboard window", async || {
        window_titles().iter().any(|t| t == "NineRouter")
    })
    .await;
    assert_eq!(
        sandbox
            .log_text()
            .matches("NineRouter is listening")
            .count(),
        1,
        "one router only"
    );

    // Quit from the tray: the process ends by itself.
    click_label(&bus, "Quit NineRouter");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(status) = app.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not quit:\n{}",
            sandbox.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(http.get(format!("{base}/api/status")).send().await.is_err());
    // The window's size and position were kept for next time.
    let state = sandbox
        .home()
        .join(".config/dev.ninerouter.desktop/.window-state.json");
    let state: Value = serde_json::from_slice(&std::fs::read(&state).expect("window state"))
        .expect("window state JSON");
    assert_eq!(state["dashboard"]["width"], 1200, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_taken_port_is_shown_in_the_tray_with_a_way_out() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let _desktop = FakeDesktop::start();
    let fake = FakeOpenAi::start().await;
    let sandbox = Sandbox::new(&config(&fake));
    let squatter = std::net::TcpListener::bind(("127.0.0.1", sandbox.port)).expect("squat");
    let mut app = sandbox.launch(&["--hidden"], &[]);
    let bus = tray_menu_of(&app).await;
    let port = sandbox.port;
    wait_for_item(&bus, "the port error", |i| {
        i.label == format!("Not running: port {port} is in use by another program")
    });
    let other = wait_for_item(&bus, "another port", |i| i.label.starts_with("Use Port "));
    let other_port: u16 = other.label["Use Port ".len()..]
        .split(' ')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port number");
    session::click(&bus, other.id);
    let http = reqwest::Client::new();
    let other_base = format!("http://127.0.0.1:{other_port}");
    wait_until_listening(&http, &other_base, || sandbox.log_text()).await;
    wait_for_item(&bus, "running", |i| {
        i.label == format!("NineRouter is running · {other_base}")
    });
    drop(squatter);
    let _ = app.kill();
    let _ = app.wait();
}

/// Serves `app` on a free loopback port; its OpenAI-style base URL (`…/v1`).
async fn serve_v1(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

/// OpenRouter's `GET /v1/key`: `first` for the first fetch, `then` for every later one;
/// counts the fetches.
async fn fake_openrouter_key(
    first: Value,
    then: Value,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    let app = axum::Router::new().route(
        "/v1/key",
        axum::routing::get(move || {
            let n = fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = if n == 0 { first.clone() } else { then.clone() };
            async move { axum::Json(answer) }
        }),
    );
    serve_v1(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_quota_running_low_is_notified_once() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let desktop = FakeDesktop::start();
    let credits = |remaining: f64| {
        json!({"data": {"label": "sk-or", "limit": 100, "limit_remaining": remaining,
            "limit_reset": "monthly", "usage": 100.0 - remaining, "usage_daily": 0.0,
            "usage_weekly": 0.0, "usage_monthly": 100.0 - remaining, "is_free_tier": false}})
    };
    // Half used at the first fetch: nothing to say. Then 96% used, fetched every second:
    // told once.
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let base = fake_openrouter_key(credits(50.0), credits(4.0), fetches.clone()).await;
    let sandbox = Sandbox::new(&format!(
        "[observability]\nquota_refresh_secs = 1\n\n[[provider]]\nprovider = \"openrouter\"\n\
         name = \"team\"\nbase_url = \"{base}\"\napi_key = \"sk-or-test\"\n"
    ));
    let mut app = sandbox.launch(&["--hidden"], &[]);
    let http = reqwest::Client::new();
    wait_until_listening(&http, &sandbox.base(), || sandbox.log_text()).await;
    wait_for("the quota-low notice", async || {
        desktop
            .shown()
            .iter()
            .any(|(t, _)| t == "OpenRouter quota low")
    })
    .await;
    let seen = fetches.load(std::sync::atomic::Ordering::SeqCst);
    wait_for("two more fetches", async || {
        fetches.load(std::sync::atomic::Ordering::SeqCst) >= seen + 2
    })
    .await;
    let notices: Vec<_> = desktop
        .shown()
        .into_iter()
        .filter(|(t, _)| t == "OpenRouter quota low")
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]
            .1
            .starts_with("“team” has used 96% of its monthly credits"),
        "{notices:?}"
    );
    let _ = app.kill();
    let _ = app.wait();
}

/// An OpenAI-compatible endpoint that answers 503 until `up` is set, then a chat answer.
async fn flaky_endpoint(up: std::sync::Arc<std::sync::atomic::AtomicBool>) -> String {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move || {
            use axum::response::IntoResponse as _;
            let up = up.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if up {
                    axum::Json(
                        json!({"id": "c1", "object": "chat.completion", "created": 1,
                        "model": "m", "choices": [{"index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "back"}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}),
                    )
                    .into_response()
                } else {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "upstream down").into_response()
                }
            }
        }),
    );
    serve_v1(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_going_down_and_coming_back_is_notified() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let desktop = FakeDesktop::start();
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let base = flaky_endpoint(up.clone()).await;
    let sandbox = Sandbox::new(&format!(
        "[routing]\ncooldown_base_ms = 50\ncooldown_max_ms = 400\n\n[[provider]]\n\
         provider = \"openai-compatible\"\nname = \"flaky\"\nprefix = \"flaky\"\n\
         base_url = \"{base}\"\napi_key = \"k-flaky\"\n"
    ));
    let mut app = sandbox.launch(&["--hidden"], &[]);
    let http = reqwest::Client::new();
    let router = sandbox.base();
    wait_until_listening(&http, &router, || sandbox.log_text()).await;
    let ask = || {
        http.post(format!("{router}/v1/chat/completions"))
            .json(&json!({"model": "flaky/m", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
    };
    let shown = |title: &str| desktop.shown().iter().any(|(t, _)| t == title);
    wait_for("the provider-down notice", async || {
        let _ = ask().await;
        shown("flaky is down")
    })
    .await;
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    wait_for("the provider-back notice", async || {
        let _ = ask().await;
        shown("flaky is back")
    })
    .await;
    let _ = app.kill();
    let _ = app.wait();
}
