//! `make hot-functions`: runs the router under Valgrind's callgrind through the requests
//! `make bench` sends and those of the other client APIs, and writes the functions it ran,
//! hottest first, to `.cargo/hot-functions.txt`, which `.cargo/link-hot-first` lays out first
//! in release binaries. Rerun it when `make bench` shows the router's code resident growing
//! (a new compiler or new dependencies rename many functions).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use crate::common::{RouterProcess, agent_body, router_bin, start_router_under};
use crate::{body, first_bytes, sequential, throughput};

const ORDER_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/hot-functions.txt");

pub async fn write(upstream: SocketAddr) {
    let dir = tempfile::tempdir().expect("dir");
    let counts = dir.path().join("callgrind.out");
    let wrapper = [
        "valgrind".to_owned(),
        "--tool=callgrind".to_owned(),
        "--dump-instr=no".to_owned(),
        "--compress-strings=no".to_owned(),
        "--compress-pos=no".to_owned(),
        "--demangle=no".to_owned(),
        format!("--callgrind-out-file={}", counts.display()),
    ];
    println!("the router under callgrind (about two minutes)…");
    let mut router = start_router_under(upstream, "", &wrapper).await;
    let client = reqwest::Client::new();
    let base = format!("http://{}", router.addr);
    let chat = format!("{base}/v1/chat/completions");
    // What `make bench` sends, in fewer requests: callgrind runs the router ~50 times slower.
    sequential(&client, &chat, &body("bench-combo", false), 300).await;
    first_bytes(&client, &chat, &body("bench-combo", true), 100).await;
    sequential(&client, &chat, &agent_body("bn/m"), 100).await;
    sequential(&client, &chat, &agent_body("ba/m"), 100).await;
    throughput(&client, &chat, &body("bench-combo", false), 2000, 8).await;
    // The other client APIs, translated to Chat and (Anthropic) passed through.
    let messages = format!("{base}/v1/messages");
    for (model, stream) in [("bn/m", false), ("bn/m", true), ("ba/m", false)] {
        let anthropic = serde_json::json!({"model": model, "max_tokens": 256, "stream": stream,
            "system": "You are a coding assistant.",
            "messages": [{"role": "user", "content": "Write a function that adds two numbers."}]});
        sequential(&client, &messages, &anthropic.to_string(), 100).await;
    }
    let responses = format!("{base}/v1/responses");
    for stream in [false, true] {
        let request = serde_json::json!({"model": "bn/m", "stream": stream,
            "instructions": "You are a coding assistant.",
            "input": "Write a function that adds two numbers."});
        sequential(&client, &responses, &request.to_string(), 100).await;
    }
    let text = profile_at_exit(&mut router, &counts).await;
    let bin = router_bin();
    let program = Path::new(&bin).file_name().expect("router file name");
    let hot = hottest_first(&text, &program.to_string_lossy());
    assert!(
        hot.len() > 500,
        "only {} functions of the router ran",
        hot.len()
    );
    let names = without_hashes(&hot);
    let mut out = String::from(
        "# The router's functions that a request runs, hottest first: `make hot-functions`\n\
         # writes this file and .cargo/link-hot-first lays them out first in release builds.\n",
    );
    for name in &names {
        out.push_str(name);
        out.push('\n');
    }
    std::fs::write(ORDER_FILE, out).expect("write the order file");
    println!("{} functions written to {ORDER_FILE}", names.len());
}

/// Stops a process run under callgrind and reads the profile it wrote to `counts` (callgrind
/// writes it when the process exits: for the router, after it has drained and recorded).
pub async fn profile_at_exit(process: &mut RouterProcess, counts: &Path) -> String {
    let pid = process.child.id().expect("pid").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -TERM {pid}");
    process.child.wait().await.expect("exit");
    std::fs::read_to_string(counts).expect("callgrind's output")
}

/// The names the linker script looks symbols up by (it makes them, so both sides agree), each
/// once, in the order given.
fn without_hashes(symbols: &[String]) -> Vec<String> {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/link-hot-first");
    let mut child = std::process::Command::new(script)
        .arg("--names")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run .cargo/link-hot-first --names");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = symbols.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("its output");
    writer.join().expect("writer").expect("write symbols");
    assert!(out.status.success(), "link-hot-first --names failed");
    let mut seen = std::collections::HashSet::new();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|name| seen.insert(name.to_string()))
        .map(str::to_owned)
        .collect()
}

/// The functions of `program` in a callgrind profile (uncompressed names and positions), by
/// the instructions they ran themselves, most first.
pub fn hottest_first(profile: &str, program: &str) -> Vec<String> {
    let mut cost: HashMap<&str, u64> = HashMap::new();
    let mut ours = false;
    let mut current: Option<&str> = None;
    // The cost line after `calls=` is that call's inclusive cost, not the caller's own.
    let mut after_call = false;
    for line in profile.lines() {
        if let Some(object) = line.strip_prefix("ob=") {
            ours = Path::new(object.trim())
                .file_name()
                .is_some_and(|f| f.to_string_lossy() == program);
        } else if let Some(name) = line.strip_prefix("fn=") {
            // Callgrind marks recursion depth with a `'N` suffix.
            let name = name.trim();
            let name = name.rsplit_once('\'').map_or(name, |(base, depth)| {
                if depth.bytes().all(|b| b.is_ascii_digit()) {
                    base
                } else {
                    name
                }
            });
            current = (ours && !name.starts_with("0x")).then_some(name);
            if let Some(name) = current {
                cost.entry(name).or_default();
            }
        } else if line.starts_with("calls=") {
            after_call = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit()) {
            if std::mem::take(&mut after_call) {
                continue;
            }
            let instructions = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok());
            if let (Some(name), Some(n)) = (current, instructions) {
                *cost.entry(name).or_default() += n;
            }
        }
    }
    let mut hot: Vec<(&str, u64)> = cost.into_iter().collect();
    hot.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    hot.into_iter().map(|(name, _)| name.to_owned()).collect()
}

/// A check the smoke run makes, so the parser cannot rot unnoticed between regenerations.
pub fn check_parser() {
    let profile = "\
version: 1
events: Ir
ob=/usr/lib/libc.so.6
fn=memcpy
10 500
ob=/build/release/ninerouter
fn=_ZN3hot4path17h0000000000000001E
12 40
cfn=_ZN4cold4path17h0000000000000002E
calls=1 20
12 9000
fn=_ZN4cold4path17h0000000000000002E'2
20 7
fn=_ZN3hot4path17h0000000000000001E
13 5
fn=0x0000000000401000
1 99
";
    let hot = hottest_first(profile, "ninerouter");
    assert_eq!(
        hot,
        [
            "_ZN3hot4path17h0000000000000001E",
            "_ZN4cold4path17h0000000000000002E"
        ],
        "callgrind profile parsed wrongly"
    );
}
