//! The dashboard served by the engine: its files at `/dashboard`, and a browser test of the
//! built UI (Playwright driving Debian's Chromium) against the real server with fake
//! upstreams. `make test` builds the UI first and makes the browser test mandatory
//! (NINEROUTER_BROWSER); elsewhere it is skipped when no browser is set.
use crate::support::Router;
use crate::support::fake_upstream::{FakeUpstream, Script};
use ninerouter::engine::{Engine, EngineOptions};
use ninerouter::secrets::BackendChoice;

/// Runs `ui/e2e/<script>` with `args`; panics with its output when it fails.
async fn browser_test(browser: &str, script: &str, args: &[&str]) {
    let ui = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
    let out = tokio::process::Command::new("node")
        .current_dir(ui)
        .arg(format!("e2e/{script}"))
        .args(args)
        .env("NINEROUTER_BROWSER", browser)
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser test {script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_dashboard_is_served_with_its_assets_and_routes() {
    let router = Router::start("").await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(router.url("/dashboard"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/dashboard/");

    let r = router
        .http
        .get(router.url("/dashboard/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "build the UI first (make test does)");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let html = r.text().await.unwrap();
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("index.html loads a script");
    assert!(script.starts_with("/dashboard/assets/"), "{script}");
    let r = router.http.get(router.url(script)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );

    // The app's own routes get the page; unknown assets are a plain 404.
    let r = router
        .http
        .get(router.url("/dashboard/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = router
        .http
        .get(router.url("/dashboard/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_dashboard_works_in_a_real_browser() {
    let Ok(browser) = std::env::var("NINEROUTER_BROWSER") else {
        eprintln!("skipped: set NINEROUTER_BROWSER to a Chromium binary (make test does)");
        return;
    };
    let fake = FakeUpstream::start(Script {
        headers: vec![
            ("x-ratelimit-limit-requests", "500".into()),
            ("x-ratelimit-remaining-requests", "420".into()),
            ("x-ratelimit-reset-requests", "40s".into()),
        ],
        ..Script::default()
    })
    .await;
    // GitHub's login servers, for the Copilot login on the Providers page.
    let github = crate::support::fake_github::FakeGithub::start(&fake.openai_base()).await;
    github.answer_polls_with(&["authorization_pending"]);
    // The Requests page is shown with a thousand requests, sent faster than the inspector
    // lists by default.
    let config = format!(
        "{}\n{}\n[observability]\ninspector_requests_per_second = 100000\n",
        fake.four_formats_config(crate::support::FAST_ROUTING),
        github.config()
    );
    let router = Router::start(&config).await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let shots_arg = shots.display().to_string();
    let fake_base = fake.openai_base();
    browser_test(
        &browser,
        "dashboard.mjs",
        &[&router.base, &shots_arg, &fake_base],
    )
    .await;
    for page in [
        "endpoint",
        "requests",
        "request-drawer",
        "usage",
        "quota",
        "settings",
        "combos",
        "providers",
        "models",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "{page} screenshot"
        );
    }
}

/// Bound beyond loopback, the management API needs an admin: the dashboard asks for the
/// password (a proxy key does not do), and its session cookie is out of the page's reach.
#[tokio::test]
async fn beyond_loopback_the_dashboard_asks_for_its_password() {
    let Ok(browser) = std::env::var("NINEROUTER_BROWSER") else {
        eprintln!("skipped: set NINEROUTER_BROWSER to a Chromium binary (make test does)");
        return;
    };
    let fake = FakeUpstream::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let key = "sk-nr-remote-dashboard-key";
    let head = format!("[server]\napi_keys = [\"{key}\"]\n");
    std::fs::write(&config, fake.four_formats_config(&head)).unwrap();
    let engine = Engine::start(EngineOptions {
        host: Some("0.0.0.0".into()),
        port: Some(0),
        data_dir: dir.path().join("data"),
        config_file: Some(config),
        secrets: BackendChoice::Memory,
        keychain_service: "ninerouter-test".into(),
        home: Some(dir.path().join("home")),
        ..EngineOptions::default()
    })
    .await
    .unwrap();
    let password = "remote-dashboard-pw";
    ninerouter::manage::admin::set_password(&engine.core(), Some(password.into()))
        .await
        .unwrap();
    // Only loopback traffic: the unspecified address is reached through 127.0.0.1.
    let base = format!("http://127.0.0.1:{}", engine.address().port());
    browser_test(&browser, "remote.mjs", &[&base, key, password]).await;
    engine.stop().await;
}
