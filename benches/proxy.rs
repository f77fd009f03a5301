//! Proxy overhead benchmark (a harness, not a timed test): `make bench` / `cargo bench`.
//!
//! Runs the real `ninerouter` binary as its own process in front of an instant fake upstream
//! and measures, against baselines taken in the same run:
//! - added latency p50/p99 at concurrency 1 (vs. calling the upstream directly),
//! - added streaming time-to-first-byte (20-event streams),
//! - requests/s at concurrency 8 vs. a bare forwarding proxy with no routing,
//! - the router's resident memory,
//! - what translation adds over passthrough for a coding-agent request (50 KB, 20 tools):
//!   the same Chat body routed to an OpenAI-format account and to an Anthropic-format one,
//! - what recording adds (usage records, and the inspector's four layers for the requests it
//!   lists): the same router with recording switched off, and one listing every request, in
//!   interleaved rounds.
//!
//! Harness code: a failed setup step should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "proxy/hot_functions.rs"]
mod hot_functions;
#[path = "proxy/instructions.rs"]
mod instructions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use common::{
    LISTING_EVERY_REQUEST, RECORDING_OFF, agent_body, code_resident, memory, percentile,
    spawn_and_read_addr, start_fake_upstream, start_router,
};

/// Request counts for a real run (`cargo bench` passes `--bench`); `cargo test` runs the same
/// harness as a quick smoke check so it cannot rot.
struct Sizes {
    sequential: usize,
    streams: usize,
    concurrent: usize,
    /// Rounds of the dashboard's first page in a browser.
    page_rounds: usize,
}

const FULL: Sizes = Sizes {
    sequential: 3000,
    streams: 600,
    concurrent: 8000,
    page_rounds: 10,
};
const SMOKE: Sizes = Sizes {
    sequential: 50,
    streams: 20,
    concurrent: 200,
    page_rounds: 1,
};
const ROUNDS: usize = 5;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probing
    }
    if let Some(pos) = args.iter().position(|a| a == "--bare-proxy") {
        // The throughput baseline runs as its own process, like the router.
        let upstream: SocketAddr = args[pos + 1].parse().expect("upstream address");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let addr = start_bare_proxy(upstream).await;
            println!("bare proxy listening on http://{addr}");
            std::future::pending::<()>().await;
        });
        return;
    }
    let upstream = start_fake_upstream();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if args.iter().any(|a| a == "--hot-functions") {
        rt.block_on(hot_functions::write(upstream));
        return;
    }
    if args.iter().any(|a| a == "--instructions") {
        rt.block_on(instructions::count(upstream));
        return;
    }
    if let Some(pos) = args.iter().position(|a| a == "--profile") {
        let secs: u64 = args.get(pos + 1).and_then(|s| s.parse().ok()).unwrap_or(30);
        let extra = if args.iter().any(|a| a == "--recording-off") {
            RECORDING_OFF
        } else if args.iter().any(|a| a == "--inspector-off") {
            "\n[observability]\ninspector = false\n"
        } else {
            ""
        };
        // `--translated`: the 45 KB agent request, translated to Anthropic and back.
        let body = if args.iter().any(|a| a == "--translated") {
            agent_body("ba/m")
        } else {
            body("bench-combo", false)
        };
        rt.block_on(hold_load(upstream, extra, &body, Duration::from_secs(secs)));
        return;
    }
    let sizes = if args.iter().any(|a| a == "--bench") {
        FULL
    } else {
        println!("smoke run (not `cargo bench`): the figures below are not measurements");
        hot_functions::check_parser();
        instructions::check_totals();
        SMOKE
    };
    rt.block_on(run(upstream, sizes));
}

/// `cargo bench --bench proxy -- --profile SECS [--recording-off | --inspector-off]
/// [--translated]`: the router under the concurrency-8 load of `routed` for SECS seconds, in
/// rounds of 8000 requests each followed by `settle`, its pid printed first for a profiler to
/// attach to (`perf record --call-graph dwarf,65528 -p PID`); prints each round's requests a
/// second and CPU per request. `BENCH_IDLE_SECS` keeps the router up at rest afterwards.
async fn hold_load(upstream: SocketAddr, extra: &str, routed: &str, secs: Duration) {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let router = start_router(upstream, extra).await;
    let url = format!("http://{}/v1/chat/completions", router.addr);
    let pid = router.child.id().unwrap_or(0);
    println!("router pid {pid} at http://{}", router.addr);
    if std::env::var_os("BENCH_WARM").is_some() {
        // What `make bench` sends the router before its concurrency-8 rounds.
        sequential(&client, &url, &body("bench-combo", false), FULL.sequential).await;
        first_bytes(&client, &url, &body("bench-combo", true), FULL.streams).await;
        sequential(&client, &url, &agent_body("bn/m"), FULL.sequential).await;
        sequential(&client, &url, &agent_body("ba/m"), FULL.sequential).await;
        println!("warmed");
    }
    let start = Instant::now();
    let mut load = Load::default();
    while start.elapsed() < secs {
        let cpu = load.cpu;
        load.round(&client, &url, routed, 8000, pid).await;
        let round_cpu = (load.cpu - cpu).as_secs_f64() * 1e6 / 8000.0;
        let rps = load.rps.last().copied().unwrap_or_default();
        println!("round: {rps:.0} req/s, {round_cpu:.1} µs CPU a request");
    }
    println!(
        "{:.0} req/s, {:.1} µs CPU a request",
        load.rps(),
        load.cpu_per_request()
    );
    if let Ok(idle) = std::env::var("BENCH_IDLE_SECS") {
        // The router stays up, at rest, for a look at it after the load.
        let secs = idle.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

/// The throughput baseline: forwards the body to the upstream, no parsing, no routing.
async fn start_bare_proxy(upstream: SocketAddr) -> SocketAddr {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("client");
    let target = Arc::new(format!("http://{upstream}/v1/chat/completions"));
    let app =
        Router::new()
            .route(
                "/v1/chat/completions",
                post(
                    |State((client, target)): State<(reqwest::Client, Arc<String>)>,
                     body: Bytes| async move {
                        match client
                            .post(target.as_str())
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(body)
                            .send()
                            .await
                        {
                            Ok(r) => {
                                let ct = r.headers().get(header::CONTENT_TYPE).cloned();
                                let bytes = r.bytes().await.unwrap_or_default();
                                let mut resp = bytes.into_response();
                                if let Some(ct) = ct {
                                    resp.headers_mut().insert(header::CONTENT_TYPE, ct);
                                }
                                resp
                            }
                            Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
                        }
                    },
                ),
            )
            .with_state((client, target));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let listener = axum::serve::ListenerExt::tap_io(listener, |t| {
            let _ = t.set_nodelay(true);
        });
        axum::serve(listener, app).await.ok();
    });
    addr
}

fn body(model: &str, stream: bool) -> String {
    format!(
        r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"system","content":"You are a coding assistant."}},{{"role":"user","content":"Write a function that adds two numbers."}}],"temperature":0.2,"max_tokens":256}}"#
    )
}

async fn sequential(client: &reqwest::Client, url: &str, body: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let start = Instant::now();
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("send");
        assert!(r.status().is_success(), "status {}", r.status());
        r.bytes().await.expect("body");
        if i >= n / 10 {
            out.push(start.elapsed()); // the first 10% warm up pools and caches
        }
    }
    out.sort();
    out
}

async fn first_bytes(client: &reqwest::Client, url: &str, body: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let start = Instant::now();
        let mut r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("send");
        r.chunk().await.expect("first chunk");
        let ttfb = start.elapsed();
        while r.chunk().await.expect("chunk").is_some() {}
        if i >= n / 10 {
            out.push(ttfb);
        }
    }
    out.sort();
    out
}

async fn throughput(
    client: &reqwest::Client,
    url: &str,
    body: &str,
    total: usize,
    concurrency: usize,
) -> f64 {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, body, next) = (
                client.clone(),
                url.to_owned(),
                body.to_owned(),
                next.clone(),
            );
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("send");
                    r.bytes().await.expect("body");
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("worker");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    // Linux reports in USER_HZ, which is 100 on every supported architecture.
    Duration::from_millis(ticks * 10)
}

/// Waits until `pid` has spent no CPU for 100 ms, and at least 1.2 s after the load (at most
/// 5 s): what its recording thread still had queued when the load stopped, and the memory it
/// hands back after 1 s at rest, are done before the next round, so they are counted in this
/// round's CPU and do not slow the next process's round. (CPU time comes in 10 ms ticks: a
/// process using under a tenth of a core can look quiet for 100 ms.)
async fn settle(pid: u32) {
    let start = Instant::now();
    let mut last = cpu_time(pid);
    while start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = cpu_time(pid);
        if now == last && start.elapsed() >= Duration::from_millis(1200) {
            return;
        }
        last = now;
    }
}

/// Throughput rounds against one server process, with the CPU it spent.
#[derive(Default)]
struct Load {
    rps: Vec<f64>,
    cpu: Duration,
    requests: usize,
}

impl Load {
    async fn round(&mut self, client: &reqwest::Client, url: &str, body: &str, n: usize, pid: u32) {
        let before = cpu_time(pid);
        self.rps.push(throughput(client, url, body, n, 8).await);
        settle(pid).await;
        self.cpu += cpu_time(pid) - before;
        self.requests += n;
    }

    fn rps(&self) -> f64 {
        median(&mut self.rps.clone())
    }

    fn ratio_to(&self, base: &Load) -> f64 {
        let mut ratios: Vec<f64> = self.rps.iter().zip(&base.rps).map(|(a, b)| a / b).collect();
        median(&mut ratios)
    }

    fn cpu_per_request(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(upstream: SocketAddr, sizes: Sizes) {
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let mut router = start_router(upstream, "").await;
    let mut bare_command =
        tokio::process::Command::new(std::env::current_exe().expect("bench binary"));
    bare_command.arg("--bare-proxy").arg(upstream.to_string());
    let mut bare_process =
        spawn_and_read_addr(bare_command, tempfile::tempdir().expect("dir")).await;
    let bare = bare_process.addr.clone();
    let direct_url = format!("http://{upstream}/v1/chat/completions");
    let router_url = format!("http://{}/v1/chat/completions", router.addr);
    let bare_url = format!("http://{bare}/v1/chat/completions");
    let pid = router.child.id().unwrap_or(0);
    let idle = memory(pid);

    let plain = body("m", false);
    let routed = body("bench-combo", false);
    let direct = sequential(&client, &direct_url, &plain, sizes.sequential).await;
    let proxied = sequential(&client, &router_url, &routed, sizes.sequential).await;
    let added_p50 = ms(percentile(&proxied, 0.5)) - ms(percentile(&direct, 0.5));
    let added_p99 = ms(percentile(&proxied, 0.99)) - ms(percentile(&direct, 0.99));

    let direct_ttfb = first_bytes(&client, &direct_url, &body("m", true), sizes.streams).await;
    let proxied_ttfb = first_bytes(
        &client,
        &router_url,
        &body("bench-combo", true),
        sizes.streams,
    )
    .await;
    let added_ttfb = ms(percentile(&proxied_ttfb, 0.5)) - ms(percentile(&direct_ttfb, 0.5));

    let agent_passthrough = agent_body("bn/m");
    let agent_translated = agent_body("ba/m");
    let agent_kib = agent_passthrough.len() / 1024;
    let pass = sequential(&client, &router_url, &agent_passthrough, sizes.sequential).await;
    let translated = sequential(&client, &router_url, &agent_translated, sizes.sequential).await;
    let translation_p50 = ms(percentile(&translated, 0.5)) - ms(percentile(&pass, 0.5));

    // Interleaved rounds: the bare proxy, the router, and the router with recording off; each
    // router round is compared with the bare round just before it, and the median of those
    // ratios taken (on 2 shared cores one round alone is noisy).
    let mut quiet = start_router(upstream, RECORDING_OFF).await;
    let quiet_url = format!("http://{}/v1/chat/completions", quiet.addr);
    let quiet_pid = quiet.child.id().unwrap_or(0);
    sequential(&client, &quiet_url, &routed, sizes.sequential).await;
    let bare_pid = bare_process.child.id().unwrap_or(0);
    let mut bare = Load::default();
    let mut on = Load::default();
    let mut off = Load::default();
    for _ in 0..ROUNDS {
        bare.round(&client, &bare_url, &plain, sizes.concurrent, bare_pid)
            .await;
        on.round(&client, &router_url, &routed, sizes.concurrent, pid)
            .await;
        off.round(&client, &quiet_url, &routed, sizes.concurrent, quiet_pid)
            .await;
    }
    let direct_rps = throughput(&client, &direct_url, &plain, sizes.concurrent, 8).await;
    let loaded = memory(pid);
    // Freed memory goes back to the system a little after the load stops.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = memory(pid);
    let code = code_resident(pid);

    // Recording on vs off at concurrency 1, in interleaved rounds whose order alternates; the
    // median of the per-round p50 differences. These rounds run thousands of requests a
    // second, so with the defaults most are past what the inspector lists; a third router
    // lists every one, for what the inspector itself adds.
    let mut listing = start_router(upstream, LISTING_EVERY_REQUEST).await;
    let listing_url = format!("http://{}/v1/chat/completions", listing.addr);
    sequential(&client, &listing_url, &routed, sizes.sequential).await;
    let streamed = body("bench-combo", true);
    let (mut plain_added, mut stream_added) = (Vec::new(), Vec::new());
    let (mut plain_listed, mut stream_listed) = (Vec::new(), Vec::new());
    let per_round = sizes.sequential / 2;
    for round in 0..ROUNDS {
        for (body, added, listed) in [
            (&routed, &mut plain_added, &mut plain_listed),
            (&streamed, &mut stream_added, &mut stream_listed),
        ] {
            let mut order = [&quiet_url, &router_url, &listing_url];
            if round % 2 == 1 {
                order.reverse();
            }
            let mut p50 = std::collections::HashMap::new();
            for url in order {
                let times = sequential(&client, url, body, per_round).await;
                p50.insert(url, ms(percentile(&times, 0.5)));
            }
            added.push(p50[&router_url] - p50[&quiet_url]);
            listed.push(p50[&listing_url] - p50[&quiet_url]);
        }
    }
    let recording_plain = median(&mut plain_added);
    let recording_stream = median(&mut stream_added);
    let listed_plain = median(&mut plain_listed);
    let listed_stream = median(&mut stream_listed);
    listing.child.kill().await.ok();
    quiet.child.kill().await.ok();
    let first_page = dashboard_first_page(&router.addr, sizes.page_rounds).await;
    router.child.kill().await.ok();
    bare_process.child.kill().await.ok();

    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "\nNineRouter proxy benchmark ({} cores; router and bare proxy each in their own process)\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| direct p50 / p99 (c=1) | {:.3} / {:.3} ms | |",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99))
    );
    println!(
        "| via router p50 / p99 (c=1) | {:.3} / {:.3} ms | |",
        ms(percentile(&proxied, 0.5)),
        ms(percentile(&proxied, 0.99))
    );
    println!(
        "| added p50 | {added_p50:.3} ms | ≤ 0.15 ms: {} |",
        verdict(added_p50 <= 0.15)
    );
    println!(
        "| added p99 | {added_p99:.3} ms | ≤ 0.5 ms: {} |",
        verdict(added_p99 <= 0.5)
    );
    println!(
        "| streaming TTFB direct / via router (p50) | {:.3} / {:.3} ms | |",
        ms(percentile(&direct_ttfb, 0.5)),
        ms(percentile(&proxied_ttfb, 0.5))
    );
    println!(
        "| streaming TTFB added (p50) | {added_ttfb:.3} ms | ≤ 0.25 ms: {} |",
        verdict(added_ttfb <= 0.25)
    );
    println!(
        "| req/s c=8: direct / bare proxy / router / router, recording off (medians of {ROUNDS}) | {direct_rps:.0} / {:.0} / {:.0} / {:.0} | |",
        bare.rps(),
        on.rps(),
        off.rps()
    );
    let (ratio_on, ratio_off) = (on.ratio_to(&bare), off.ratio_to(&bare));
    println!(
        "| router vs bare proxy, c=8 (median of paired rounds): recording on / off | {:.0} % / {:.0} % | ≥ 70 %: {} |",
        100.0 * ratio_on,
        100.0 * ratio_off,
        verdict(ratio_on >= 0.7)
    );
    println!(
        "| CPU per request c=8: bare proxy / router / router, recording off | {:.1} / {:.1} / {:.1} µs | |",
        bare.cpu_per_request(),
        on.cpu_per_request(),
        off.cpu_per_request()
    );
    println!(
        "| agent request ({agent_kib} KB, 20 tools) passthrough / translated to Anthropic (p50) | {:.3} / {:.3} ms | |",
        ms(percentile(&pass, 0.5)),
        ms(percentile(&translated, 0.5))
    );
    println!(
        "| translation added (p50) | {translation_p50:.3} ms | ≤ 0.1 ms: {} |",
        verdict(translation_p50 <= 0.1)
    );
    println!(
        "| recording on vs off, added (p50): whole answer / 20-event stream | {recording_plain:.3} / {recording_stream:.3} ms | ≤ 0.05 ms: {} |",
        verdict(recording_plain <= 0.05 && recording_stream <= 0.05)
    );
    println!(
        "| the same with the inspector listing every request: whole answer / 20-event stream | {listed_plain:.3} / {listed_stream:.3} ms | |"
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "| router RSS idle / right after load / 2 s later / peak | {:.1} / {:.1} / {:.1} / {:.1} MiB | ≤ 20 MiB after load: {} |",
        mib(idle.rss),
        mib(loaded.rss),
        mib(settled.rss),
        mib(loaded.peak),
        verdict(settled.rss <= 20 * 1024)
    );
    println!(
        "| of which allocated (anonymous) / the binary's and libraries' pages: idle, 2 s after load | {:.1} / {:.1}, {:.1} / {:.1} MiB | |",
        mib(idle.anonymous),
        mib(idle.files),
        mib(settled.anonymous),
        mib(settled.files)
    );
    println!(
        "| of which the router's own code (over 5 MiB: `make hot-functions`) | {:.1} MiB | |",
        mib(code)
    );
    match first_page {
        Ok(mut samples) if !samples.is_empty() => {
            samples.sort_by(f64::total_cmp);
            let p50 = samples[samples.len() / 2];
            let max = samples[samples.len() - 1];
            println!(
                "| dashboard first page interactive, nothing cached (p50 / slowest of {}) | {p50:.0} / {max:.0} ms | ≤ 300 ms: {} |",
                samples.len(),
                verdict(max <= 300.0)
            );
        }
        Ok(_) => println!("| dashboard first page interactive | no rounds | ≤ 300 ms |"),
        Err(why) => {
            println!("| dashboard first page interactive | not measured: {why} | ≤ 300 ms |")
        }
    }
}

/// The dashboard's first page, interactive, in headless Chromium (`ui/e2e/first_page.mjs`):
/// milliseconds from navigation start, one sample a round, each in a fresh browser context.
async fn dashboard_first_page(addr: &str, rounds: usize) -> Result<Vec<f64>, String> {
    #[derive(serde::Deserialize)]
    struct Samples {
        samples: Vec<f64>,
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/e2e/first_page.mjs");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .arg(format!("http://{addr}"))
        .arg(rounds.to_string())
        .output()
        .await
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().next().unwrap_or("failed").to_owned());
    }
    serde_json::from_slice::<Samples>(&out.stdout)
        .map(|s| s.samples)
        .map_err(|e| format!("its output: {e}"))
}
