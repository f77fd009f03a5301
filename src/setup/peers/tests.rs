use super::*;
use crate::auth::tokens::TokenSet;
use crate::secrets::SecretString;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/import");

fn set(secret: &str) -> TokenSet {
    TokenSet::from_secret(&SecretString::new(secret.to_owned())).expect("a token set")
}

fn account<'a>(doc: &'a SetupDoc, provider: &str) -> &'a crate::setup::doc::AccountDoc {
    doc.accounts
        .iter()
        .find(|a| a.provider == provider)
        .unwrap_or_else(|| panic!("no {provider} account in {:?}", doc.accounts))
}

#[test]
fn nine_routers_database_becomes_accounts_nodes_combos_aliases_and_keys() {
    let home = Home::isolated(Path::new("/nonexistent"), None);
    let doc = Peer::NineRouter
        .read(&Path::new(FIXTURES).join("9router"), &home)
        .expect("read");
    assert_eq!(doc.made_by, "9Router");

    let or = account(&doc, "openrouter");
    assert_eq!(
        or.secret.as_deref(),
        Some("sk-or-v1-fake-openrouter-key-0001")
    );
    assert_eq!(or.proxy.as_deref(), Some("http://proxy.example:3128"));
    assert_eq!(or.name, "My OR key");

    let codex = set(account(&doc, "codex").secret.as_deref().expect("secret"));
    assert_eq!(codex.refresh_token, "rt_fake-codex-refresh");
    assert_eq!(codex.extra["accountId"], "acc-1234");
    assert_eq!(codex.plan.as_deref(), Some("plus"));
    assert_eq!(codex.expires_at_ms, 1_777_543_200_000);

    let gemini = account(&doc, "gemini-cli");
    assert!(!gemini.enabled);
    assert_eq!(
        set(gemini.secret.as_deref().expect("secret")).extra["projectId"],
        "my-proj-123"
    );

    let kiro = set(account(&doc, "kiro").secret.as_deref().expect("secret"));
    assert_eq!(kiro.extra["clientId"], "fake-client-id");
    assert_eq!(
        kiro.extra["tokenUrl"],
        "https://oidc.eu-west-1.amazonaws.com/token"
    );
    assert_eq!(
        account(&doc, "github").secret.as_deref(),
        Some("gho_fakeGithubToken0001")
    );

    // The custom node and its connection, by prefix; the embedding node is not a chat node.
    assert_eq!(doc.nodes.len(), 1);
    assert_eq!(doc.nodes[0].prefix, "vllm");
    assert_eq!(
        account(&doc, "vllm").secret.as_deref(),
        Some("sk-fake-vllm-key")
    );

    assert_eq!(doc.combos.len(), 1);
    assert_eq!(doc.combos[0].models[0], "cc/claude-opus-4-6");
    assert_eq!(doc.aliases["opus"], "cc/claude-opus-4-6");
    assert_eq!(doc.aliases["fast"], "openrouter/deepseek/deepseek-r1");
    assert_eq!(doc.keys.len(), 1);
    assert_eq!(
        doc.keys[0].hash,
        hex::encode(crate::catalog::hash_key(
            "sk-0123456789abcdef-k1k1k1-deadbeef"
        ))
    );
    assert_eq!(
        doc.settings,
        Some(
            serde_json::json!({ "requireApiKey": false, "routing": { "accountStrategy": "sticky-round-robin", "stickyLimit": 3 } })
        )
    );
    assert_eq!(doc.prices.len(), 1);

    let skipped: Vec<(&str, &str)> = doc
        .skipped
        .iter()
        .map(|s| (s.kind.as_str(), s.name.as_str()))
        .collect();
    for expected in [
        ("account", "cookie login"),
        ("account", "kilo"),
        ("combo", "voices"),
        ("key", "old"),
        ("node", "Embeddings"),
    ] {
        assert!(skipped.contains(&expected), "{expected:?} in {skipped:?}");
    }
    // Nothing secret in the reasons shown.
    let shown = serde_json::to_string(&doc.skipped).expect("JSON");
    assert!(
        !shown.contains("fake-kilo") && !shown.contains("sk-fake-iflow"),
        "{shown}"
    );
}

fn cli_proxy_api_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = Path::new(FIXTURES).join("cliproxyapi");
    let auths = dir.path().join("auths");
    copy_dir(&from.join("auths"), &auths);
    let config = std::fs::read_to_string(from.join("config.yaml"))
        .expect("config")
        .replace("AUTH_DIR", &auths.display().to_string());
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, config).expect("write");
    (dir, path)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn cli_proxy_apis_config_and_token_files_become_accounts_nodes_aliases_and_keys() {
    let (dir, config) = cli_proxy_api_copy();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc", dir.path().join("auths/escape")).expect("link");
    let home = Home::isolated(dir.path(), None);
    let doc = Peer::CliProxyApi.read(&config, &home).expect("read");

    assert_eq!(doc.keys.len(), 2);
    let gemini: Vec<_> = doc
        .accounts
        .iter()
        .filter(|a| a.provider == "gemini")
        .collect();
    assert_eq!(gemini.len(), 2, "current and legacy spellings");
    assert_eq!(doc.aliases["gemini-flash"], "gemini/gemini-2.5-flash");
    let claude = account(&doc, "anthropic");
    assert_eq!(
        claude.secret.as_deref(),
        Some("sk-ant-fake-claude-key-0003")
    );
    assert_eq!(claude.base_url, None, "the default URL is not an override");
    assert_eq!(claude.proxy.as_deref(), Some("socks5://127.0.0.1:1080"));
    assert!(
        !claude.name.contains("fake-claude"),
        "a name shows only the key's tail: {}",
        claude.name
    );
    assert_eq!(
        doc.aliases["claude-sonnet-latest"],
        "anthropic/claude-3-5-sonnet-20241022"
    );
    let openai: Vec<_> = doc
        .accounts
        .iter()
        .filter(|a| a.provider == "openai")
        .collect();
    assert_eq!(
        openai.len(),
        1,
        "an entry without base-url is dropped, as CLIProxyAPI does"
    );
    assert_eq!(
        openai[0].base_url.as_deref(),
        Some("https://relay.example.com/v1")
    );

    let prefixes: Vec<&str> = doc.nodes.iter().map(|n| n.prefix.as_str()).collect();
    assert_eq!(prefixes, ["or2", "local-llm"]);
    assert_eq!(account(&doc, "or2").proxy, None, "'direct' is no proxy");
    assert_eq!(
        account(&doc, "local-llm").secret.as_deref(),
        Some("sk-legacy-local-0006")
    );
    assert_eq!(doc.aliases["kimi-k2"], "or2/moonshotai/kimi-k2:free");
    assert_eq!(
        doc.settings,
        Some(serde_json::json!({ "routing": { "accountStrategy": "fill-first" } }))
    );

    let login = set(account(&doc, "claude").secret.as_deref().expect("secret"));
    assert_eq!(login.refresh_token, "sk-ant-ort01-fake-cpa");
    assert_eq!(login.expires_at_ms, 1_787_432_400_000);
    let codex = set(account(&doc, "codex").secret.as_deref().expect("secret"));
    assert_eq!(codex.extra["accountId"], "acc-cpa-1");
    let gc = set(account(&doc, "gemini-cli")
        .secret
        .as_deref()
        .expect("secret"));
    assert_eq!(gc.refresh_token, "1//fake-cpa-refresh");
    assert_eq!(gc.extra["projectId"], "my-proj");
    assert!(!account(&doc, "qwen").enabled);

    let reasons: Vec<String> = doc
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.name, s.reason))
        .collect();
    assert!(reasons.iter().any(|r| r.contains("'kimi'")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.starts_with("broken.json")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("xai-api-key")),
        "{reasons:?}"
    );
    assert_eq!(
        doc.accounts.len(),
        2 + 1 + 1 + 1 + 1 + 4,
        "{:?}",
        doc.accounts
    );
}

#[test]
fn a_damaged_or_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = Home::isolated(dir.path(), None);
    std::fs::write(dir.path().join("db.json"), "{\"providerConnections\": [").expect("write");
    let err = Peer::NineRouter
        .read(dir.path(), &home)
        .expect_err("refused");
    assert!(err.to_string().contains("db.json"), "{err}");
    std::fs::write(dir.path().join("config.yaml"), "port: [\n").expect("write");
    let err = Peer::CliProxyApi
        .read(dir.path(), &home)
        .expect_err("refused");
    assert!(err.to_string().contains("config.yaml"), "{err}");
    let err = Peer::NineRouter
        .read(&dir.path().join("nowhere"), &home)
        .expect_err("refused");
    assert!(err.to_string().contains("nothing at"), "{err}");
}
