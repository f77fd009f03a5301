//! `make bench-instructions`: the instructions the router runs per request under the
//! bench's concurrency-8 load, counted by Valgrind's callgrind, its threads together. Unlike
//! requests a second or CPU time, the count does not move with the machine's other work or
//! its speed of the hour, so it shows a change of a few percent that the ratios of
//! `make bench` on a shared 2-core machine cannot. Usage recording stays on; the inspector is
//! off, because at callgrind's pace its 200 listed requests a second would be most of them.

use std::net::SocketAddr;

use crate::common::{RECORDING_OFF, RouterProcess, spawn_and_read_addr, start_router_under};
use crate::{body, sequential, throughput};

/// Requests counted per configuration (after a warm-up that is not).
const COUNTED: usize = 4000;

pub async fn count(upstream: SocketAddr) {
    println!(
        "the router under callgrind, {COUNTED} requests at c=8 per line (about a minute each)…"
    );
    println!("| c=8, Chat passed through a combo | instructions a request |");
    println!("|---|---|");
    for (label, extra) in [
        (
            "router, usage recording on, inspector off",
            "\n[observability]\ninspector = false\n",
        ),
        ("router, recording off", RECORDING_OFF),
    ] {
        let counts = tempfile::tempdir().expect("dir");
        let router = start_router_under(upstream, extra, &wrapper(counts.path())).await;
        let per_request = counted(router, counts.path()).await;
        println!("| {label} | {:.1}k |", per_request / 1000.0);
    }
    let counts = tempfile::tempdir().expect("dir");
    let mut bare = tokio::process::Command::new("valgrind");
    bare.args(&wrapper(counts.path())[1..])
        .arg(std::env::current_exe().expect("bench binary"))
        .arg("--bare-proxy")
        .arg(upstream.to_string());
    let bare = spawn_and_read_addr(bare, tempfile::tempdir().expect("dir")).await;
    let per_request = counted(bare, counts.path()).await;
    println!(
        "| the bare proxy (`make bench`'s baseline) | {:.1}k |",
        per_request / 1000.0
    );
}

fn wrapper(dir: &std::path::Path) -> [String; 4] {
    [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--dump-instr=no".to_owned(),
        format!(
            "--callgrind-out-file={}",
            dir.join("callgrind.out").display()
        ),
    ]
}

/// Warms `router` up, counts from zero through `COUNTED` requests, and reads the count.
async fn counted(mut router: RouterProcess, dir: &std::path::Path) -> f64 {
    let counts = dir.join("callgrind.out");
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/chat/completions", router.addr);
    let routed = body("bench-combo", false);
    sequential(&client, &url, &routed, 200).await;
    let pid = router.child.id().expect("router pid").to_string();
    let zeroed = std::process::Command::new("callgrind_control")
        .args(["--zero", &pid])
        .output()
        .expect("callgrind_control");
    assert!(zeroed.status.success(), "callgrind_control --zero {pid}");
    throughput(&client, &url, &routed, COUNTED, 8).await;
    let text = crate::hot_functions::profile_at_exit(&mut router, &counts).await;
    total_instructions(&text).expect("a totals line in callgrind's output") as f64 / COUNTED as f64
}

/// The `totals:` (or, in older versions, `summary:`) line of a callgrind profile.
pub fn total_instructions(profile: &str) -> Option<u64> {
    profile.lines().find_map(|line| {
        let value = line
            .strip_prefix("totals:")
            .or_else(|| line.strip_prefix("summary:"))?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// A check the smoke run makes, so the reading of the profile cannot rot unnoticed.
pub fn check_totals() {
    let profile = "version: 1\nevents: Ir\nfn=main\n1 5\nsummary: 1234\ntotals: 1234\n";
    assert_eq!(total_instructions(profile), Some(1234));
    assert_eq!(total_instructions("events: Ir\nsummary: 99\n"), Some(99));
    assert_eq!(total_instructions("events: Ir\n"), None);
}
