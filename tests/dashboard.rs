//! The dashboard served by the engine: its files at `/dashboard`, and a browser test of the
//! built UI (Playwright driving Debian's Chromium) against the real server with fake
//! upstreams. `make test` builds the UI first and makes the browser test mandatory
//! (NINEROUTER_BROWSER); elsewhere it is skipped when no browser is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::Router;
use support::fake_upstream::{FakeUpstream, Script};

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
    let router = Router::start(&fake.four_formats_config(support::FAST_ROUTING)).await;
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let base = router.base.clone();
    let ui = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
    let out = tokio::process::Command::new("node")
        .current_dir(ui)
        .arg("e2e/dashboard.mjs")
        .arg(&base)
        .arg(&shots)
        .arg(fake.openai_base())
        .env("NINEROUTER_BROWSER", browser)
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for page in [
        "endpoint",
        "requests",
        "request-drawer",
        "usage",
        "quota",
        "settings",
        "combos",
        "providers",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "{page} screenshot"
        );
    }
}
