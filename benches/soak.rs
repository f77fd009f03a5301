//! Soak run (a harness, not a timed test): `make soak`. Drives the real router process at a
//! steady rate with a mix of clients and formats, streams and tool calls, and prints each
//! interval's requests, errors, p50/p99 latency and the router's resident memory; at the end,
//! the memory's slope over the run. Recording (usage and the inspector) stays on, as by
//! default.
//!
//! Knobs: `SOAK_SECS` (default 3600), `SOAK_RATE` requests per second (default 200),
//! `SOAK_REPORT_SECS` (default 60). Under `cargo test` it runs for two seconds as a smoke
//! check so it cannot rot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{agent_body, percentile, rss_kib, start_fake_upstream, start_router};

/// One kind of request of the mix: the path, the body and the headers its client sends.
struct Kind {
    name: &'static str,
    path: &'static str,
    body: String,
    anthropic: bool,
}

fn mix() -> Vec<Kind> {
    let chat = |model: &str, stream: bool| {
        format!(
            r#"{{"model":"{model}","stream":{stream},"messages":[{{"role":"user","content":"Write a function that adds two numbers."}}],"max_tokens":256}}"#
        )
    };
    let tool_turn = r#"{"model":"bn/m","max_tokens":512,"tools":[{"name":"read_file","description":"Read a file","input_schema":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}],"messages":[{"role":"user","content":"Open main.rs"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"src/main.rs"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"fn main() {}"}]}]}"#;
    vec![
        Kind {
            name: "chat",
            path: "/v1/chat/completions",
            body: chat("bn/m", false),
            anthropic: false,
        },
        Kind {
            name: "chat stream via combo",
            path: "/v1/chat/completions",
            body: chat("bench-combo", true),
            anthropic: false,
        },
        Kind {
            name: "messages with a tool result, to Chat",
            path: "/v1/messages",
            body: tool_turn.to_owned(),
            anthropic: true,
        },
        Kind {
            name: "messages, passthrough",
            path: "/v1/messages",
            body: r#"{"model":"ba/m","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#
                .to_owned(),
            anthropic: true,
        },
        Kind {
            name: "responses, to Chat",
            path: "/v1/responses",
            body: r#"{"model":"bn/m","input":"Summarise the build log."}"#.to_owned(),
            anthropic: false,
        },
        Kind {
            name: "agent turn, Chat to Anthropic",
            path: "/v1/chat/completions",
            body: agent_body("ba/m"),
            anthropic: false,
        },
    ]
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Interval {
    latencies: Vec<Duration>,
    errors: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let real = args.iter().any(|a| a == "--bench");
    let (secs, report) = if real {
        (knob("SOAK_SECS", 3600), knob("SOAK_REPORT_SECS", 60))
    } else {
        println!("smoke run (not `cargo bench`): the figures below are not measurements");
        (2, 1)
    };
    let rate = knob("SOAK_RATE", 200).max(1);
    let upstream = start_fake_upstream();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(upstream, secs, report.max(1), rate));
}

async fn run(upstream: std::net::SocketAddr, secs: u64, report: u64, rate: u64) {
    let router = start_router(upstream, "").await;
    let pid = router.child.id().expect("pid");
    let base = format!("http://{}", router.addr);
    let client = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let kinds = Arc::new(mix());
    let interval = Arc::new(Mutex::new(Interval::default()));
    println!(
        "soak: {rate} req/s for {secs} s, a report every {report} s; mix: {}",
        kinds.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
    );
    println!("| minute | requests | errors | p50 ms | p99 ms | RSS MiB |");
    println!("|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_report = started + Duration::from_secs(report);
    let mut rss_points: Vec<(f64, f64)> = Vec::new();
    let mut sent: u64 = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        ticker.tick().await;
        let kind = sent as usize % kinds.len();
        sent += 1;
        let (client, kinds, tally, base) = (
            client.clone(),
            kinds.clone(),
            interval.clone(),
            base.clone(),
        );
        tokio::spawn(async move {
            let k = &kinds[kind];
            let begun = Instant::now();
            let mut request = client
                .post(format!("{base}{}", k.path))
                .header("content-type", "application/json")
                .body(k.body.clone());
            if k.anthropic {
                request = request.header("anthropic-version", "2023-06-01");
            }
            let ok = match request.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            let mut i = tally.lock().unwrap();
            if ok {
                i.latencies.push(begun.elapsed());
            } else {
                i.errors += 1;
            }
        });
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(report);
            let Interval {
                mut latencies,
                errors,
            } = std::mem::take(&mut *interval.lock().unwrap());
            latencies.sort();
            let (rss, _) = rss_kib(pid);
            let at = started.elapsed().as_secs_f64() / 60.0;
            rss_points.push((at, rss as f64 / 1024.0));
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let (p50, p99) = if latencies.is_empty() {
                (0.0, 0.0)
            } else {
                (
                    ms(percentile(&latencies, 0.5)),
                    ms(percentile(&latencies, 0.99)),
                )
            };
            println!(
                "| {at:.2} | {} | {errors} | {p50:.2} | {p99:.2} | {:.1} |",
                latencies.len(),
                rss as f64 / 1024.0
            );
        }
    }
    // The memory's trend over the run, past the first report (pools and caches warm up).
    let points = if rss_points.len() > 2 {
        &rss_points[1..]
    } else {
        &rss_points[..]
    };
    let n = points.len() as f64;
    if n >= 2.0 {
        let (mx, my) = (
            points.iter().map(|p| p.0).sum::<f64>() / n,
            points.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let slope = if var > 0.0 { cov / var } else { 0.0 };
        let (_, peak) = rss_kib(pid);
        println!(
            "RSS slope after the first report: {slope:+.3} MiB/min ({:+.1} MiB/hour); peak {:.1} MiB; {sent} requests sent",
            slope * 60.0,
            peak as f64 / 1024.0
        );
    }
}
