//! The dashboard window through WebDriver: tauri-driver in front of Debian's WebKitWebDriver,
//! which launches the app itself.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::{BIN, ONE_APP_AT_A_TIME, Sandbox, required, wait_for, wait_until_listening};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A WebDriver session with the app (launched by WebKitWebDriver with `--hidden`) once its
/// router answers.
async fn session(sandbox: &Sandbox) -> (Driver, fantoccini::Client) {
    let driver_bin = std::env::var("NINEROUTER_TAURI_DRIVER")
        .expect("NINEROUTER_TAURI_DRIVER names the tauri-driver binary (make test installs it)");
    let (port, native_port) = (free_port(), free_port());
    let log = std::fs::File::create(sandbox.log()).expect("log");
    let driver = Driver(
        Command::new(driver_bin)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .args(["--native-driver", "/usr/bin/WebKitWebDriver"])
            .envs(sandbox.env())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tauri-driver starts"),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({"application": BIN, "args": ["--hidden"]}),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "no WebDriver session: {e}\n{}",
                    sandbox.log_text()
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    };
    wait_until_listening(&reqwest::Client::new(), &sandbox.base(), || {
        sandbox.log_text()
    })
    .await;
    (driver, client)
}

/// Waits for the dashboard to render; its Settings link.
async fn dashboard(
    client: &fantoccini::Client,
    sandbox: &Sandbox,
) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::LinkText("Settings"))
        .await
        .unwrap_or_else(|e| panic!("the dashboard did not render: {e}\n{}", sandbox.log_text()))
}

/// Calls a Tauri command from the dashboard's page, as its scripts do: `"ok"`, or
/// `"refused: …"` when the app refuses it.
async fn invoke(client: &fantoccini::Client, command: &str, args: serde_json::Value) -> String {
    let script = "const done = arguments[arguments.length - 1];\
                  window.__TAURI__.core.invoke(arguments[0], arguments[1])\
                    .then(() => done('ok'), (e) => done('refused: ' + e));";
    let answer = client
        .execute_async(script, vec![json!(command), args])
        .await
        .expect("script");
    answer.as_str().unwrap_or_default().to_owned()
}

async fn get_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    let response = http.get(url).send().await.expect("the router answers");
    response.json().await.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_window_renders_and_reaches_the_desktop_plugins() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    // No fake tray host on the bus this time: the window must open at start even with --hidden.
    // The router has a dashboard password: the window is let in by the app, never by typing.
    let sandbox = Sandbox::new("");
    sandbox.set_password("desktop-test-pw").await;
    let (_driver, client) = session(&sandbox).await;

    // The window shows the engine's dashboard, rendered, not its login form.
    let nav = dashboard(&client, &sandbox).await;
    let url = client.current_url().await.expect("url");
    assert_eq!(url.as_str(), format!("{}/dashboard/", sandbox.base()));
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("[data-testid=server-status]"))
        .await
        .unwrap_or_else(|e| panic!("the window was not let in: {e}\n{}", sandbox.log_text()));
    let page = client.source().await.expect("page source");
    assert!(
        !page.contains("Log in to manage NineRouter"),
        "the window was asked for the password"
    );
    let http = reqwest::Client::new();
    let outside = http
        .get(format!("{}/api/status", sandbox.base()))
        .send()
        .await
        .expect("the router answers");
    assert_eq!(outside.status(), 401, "only the window was let in");
    // A page cannot take the window (and its desktop permissions) elsewhere.
    let _ = client
        .execute("location.href = 'http://127.0.0.1:9/elsewhere'", vec![])
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = client.current_url().await.expect("url");
    assert_eq!(
        still.origin().ascii_serialization(),
        sandbox.base(),
        "the window left the router"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = client.screenshot().await.expect("screenshot");
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("desktop-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    std::fs::write(shots.join("dashboard-window.png"), &png).expect("save screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");

    // Settings offers Start at Login only in the desktop window; it reaches the autostart
    // plugin through Tauri's IPC (allowed for this origin by the dashboard capability).
    nav.click().await.expect("open settings");
    let toggle = client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(
            "//label[contains(., 'Start NineRouter at login')]/input",
        ))
        .await
        .expect("the desktop-only setting");
    tokio::time::sleep(Duration::from_millis(300)).await;
    toggle.click().await.expect("enable");
    wait_for("the autostart entry", async || {
        sandbox.autostart_entry().exists()
    })
    .await;
    // Written by the window program, the entry still starts the tray program.
    let entry = std::fs::read_to_string(sandbox.autostart_entry()).expect("entry");
    assert!(
        entry.contains(&format!("Exec={BIN} --hidden")),
        "the entry starts the tray: {entry}"
    );
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(shots.join("settings-window.png"), &png).expect("save screenshot");
    toggle.click().await.expect("disable");
    wait_for("the entry to go", async || {
        !sandbox.autostart_entry().exists()
    })
    .await;
    // Provider pages (logins) open in the system browser, and only https ones.
    let open = |url: &str| json!({ "url": url });
    let opened = invoke(
        &client,
        "plugin:opener|open_url",
        open("https://github.com/login/device"),
    )
    .await;
    assert_eq!(opened, "ok", "{}", sandbox.log_text());
    wait_for("the page in the browser", async || {
        sandbox
            .opened_pages()
            .contains("https://github.com/login/device")
    })
    .await;
    let refused = invoke(
        &client,
        "plugin:opener|open_url",
        open("file:///etc/passwd"),
    )
    .await;
    assert!(refused.starts_with("refused"), "{refused}");
    let _ = client.close().await;
}

/// A Claude login server: the approval page sends the browser on to the redirect URI at once
/// (as claude.ai does once the user clicks Authorize); the token endpoint takes that code.
async fn fake_claude_login() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{Query, State};
    use axum::response::Html;
    use std::collections::HashMap;
    type Seen = std::sync::Arc<std::sync::Mutex<Vec<String>>>;
    async fn approve(Query(q): Query<HashMap<String, String>>) -> Html<String> {
        let target = format!(
            "{}?code=desktop-code&state={}",
            q.get("redirect_uri").cloned().unwrap_or_default(),
            q.get("state").cloned().unwrap_or_default()
        );
        Html(format!(
            "<!doctype html><title>Authorize</title><p>Authorizing…</p>\
             <script>setTimeout(() => location.href = {target:?}, 300)</script>"
        ))
    }
    async fn token(
        State(seen): State<Seen>,
        axum::Json(body): axum::Json<serde_json::Value>,
    ) -> axum::Json<serde_json::Value> {
        seen.lock()
            .expect("lock")
            .push(body["code"].as_str().unwrap_or_default().to_owned());
        axum::Json(json!({
            "access_token": "desk-access", "refresh_token": "desk-refresh", "expires_in": 28800,
            "token_type": "Bearer", "account": {"uuid": "a", "email_address": "desk@example.com"}
        }))
    }
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .route("/oauth/authorize", axum::routing::get(approve))
        .route("/v1/oauth/token", axum::routing::post(token))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_window_catches_the_redirect_and_finishes_the_login() {
    if !required() {
        return;
    }
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let (login_server, codes) = fake_claude_login().await;
    let sandbox = Sandbox::new(&format!("[auth.claude]\nlogin_url = \"{login_server}\"\n"));
    let (_driver, client) = session(&sandbox).await;
    dashboard(&client, &sandbox).await;

    // The dashboard starts a Claude login and asks the app for a login window.
    let http = reqwest::Client::new();
    let started: serde_json::Value = http
        .post(format!("{}/api/oauth/cc/start", sandbox.base()))
        .send()
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    assert_eq!(started["webview"], true, "{started}");
    let window = json!({
        "provider": "claude",
        "loginId": started["loginId"],
        "authorizeUrl": started["authorizeUrl"],
        "redirectUri": started["redirectUri"],
    });
    let opened = invoke(&client, "open_login", window).await;
    assert_eq!(opened, "ok", "{}", sandbox.log_text());

    // The page sends the window to console.anthropic.com's callback; the app stops that
    // navigation and the engine exchanges the code: the account exists, nothing was pasted.
    let status_url = format!(
        "{}/api/oauth/cc/{}",
        sandbox.base(),
        started["loginId"].as_str().expect("id")
    );
    wait_for("the login to finish", async || {
        get_json(&http, &status_url).await["login"]["status"] == "done"
    })
    .await;
    assert_eq!(codes.lock().expect("lock").as_slice(), ["desktop-code"]);
    let accounts = get_json(&http, &format!("{}/api/connections", sandbox.base())).await;
    assert!(
        accounts.to_string().contains("desk@example.com"),
        "{accounts}"
    );
    // Pages of other kinds are refused.
    let file = json!({"provider": "claude", "loginId": "x", "authorizeUrl": "file:///etc/passwd", "redirectUri": "https://x/cb"});
    let refused = invoke(&client, "open_login", file).await;
    assert!(refused.starts_with("refused"), "{refused}");
    let _ = client.close().await;
}
