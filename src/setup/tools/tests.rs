use std::path::Path;

use super::*;

const BASE: &str = "http://127.0.0.1:20128";

/// A setup that made no key (the router's side of keys is tested over HTTP).
fn apply(
    tool: &dyn Tool,
    home: &Home,
    backups: &Path,
    target: &Target,
) -> Result<Vec<FileChange>, SetupError> {
    super::apply(tool, home, backups, target, None)
}

fn target(model: Option<&str>) -> Target {
    Target {
        base: BASE.into(),
        key: "sk-test-key".into(),
        model: model.map(str::to_owned),
    }
}

struct Sandbox {
    _dir: tempfile::TempDir,
    home: Home,
    backups: PathBuf,
}

fn sandbox() -> Sandbox {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = Home::isolated(&dir.path().join("home"), None);
    std::fs::create_dir_all(&home.dir).expect("home");
    let backups = dir.path().join("data/tool-backups");
    Sandbox {
        _dir: dir,
        home,
        backups,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("dir");
    std::fs::write(path, text).expect("write");
}

#[test]
fn claude_code_keeps_the_users_settings_and_restores_them_byte_for_byte() {
    let s = sandbox();
    let file = s.home.dir.join(".claude/settings.json");
    let original = "{\"permissions\": {\"allow\": [\"Bash(ls)\"]},\n \"env\": {\"FOO\": \"1\", \"ANTHROPIC_API_KEY\": \"sk-ant-old\"}}";
    write(&file, original);
    let tool = find("claude-code").expect("listed");
    assert_eq!(
        status(tool, &s.home, &s.backups, BASE).state,
        ToolState::NotConfigured
    );

    apply(tool, &s.home, &s.backups, &target(Some("default"))).expect("applied");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    assert_eq!(written["permissions"]["allow"][0], "Bash(ls)");
    assert_eq!(written["env"]["FOO"], "1");
    assert_eq!(written["env"]["ANTHROPIC_BASE_URL"], BASE);
    assert_eq!(written["env"]["ANTHROPIC_AUTH_TOKEN"], "sk-test-key");
    assert_eq!(written["env"]["ANTHROPIC_MODEL"], "default");
    assert!(written["env"].get("ANTHROPIC_API_KEY").is_none());
    let now = status(tool, &s.home, &s.backups, BASE);
    assert_eq!(now.state, ToolState::Configured);
    assert!(now.restorable);

    // A second setup keeps the first backup: restore goes back to the user's own file.
    apply(tool, &s.home, &s.backups, &target(Some("other"))).expect("again");
    restore(tool, &s.home, &s.backups).expect("restored");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), original);
    assert!(!status(tool, &s.home, &s.backups, BASE).restorable);
}

#[test]
fn codex_keeps_comments_and_other_providers_and_a_created_file_goes_on_restore() {
    let s = sandbox();
    let tool = find("codex").expect("listed");
    // Nothing there: the file and its directory are created, and removed again.
    apply(tool, &s.home, &s.backups, &target(Some("default"))).expect("applied");
    let file = s.home.dir.join(".codex/config.toml");
    let doc: toml::Table =
        toml::from_str(&std::fs::read_to_string(&file).expect("read")).expect("TOML");
    assert_eq!(doc["model_provider"].as_str(), Some("ninerouter"));
    assert_eq!(doc["model"].as_str(), Some("default"));
    let entry = &doc["model_providers"]["ninerouter"];
    assert_eq!(
        entry["base_url"].as_str(),
        Some("http://127.0.0.1:20128/v1")
    );
    assert_eq!(entry["wire_api"].as_str(), Some("responses"));
    assert_eq!(
        entry["experimental_bearer_token"].as_str(),
        Some("sk-test-key")
    );
    restore(tool, &s.home, &s.backups).expect("restored");
    assert!(!file.exists());
    assert!(!s.home.dir.join(".codex").exists());

    let original = "# my settings\nmodel = \"o3\" # the best\napproval_policy = \"on-request\"\n\n[model_providers.azure]\nname = \"Azure\" # work\nbase_url = \"https://example.openai.azure.com/openai\"\n";
    write(&file, original);
    assert_eq!(
        status(tool, &s.home, &s.backups, BASE).state,
        ToolState::NotConfigured
    );
    apply(tool, &s.home, &s.backups, &target(Some("cx/gpt-5"))).expect("applied");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(
        text.contains("# my settings") && text.contains("# the best") && text.contains("# work"),
        "{text}"
    );
    let doc: toml::Table = toml::from_str(&text).expect("TOML");
    assert_eq!(doc["approval_policy"].as_str(), Some("on-request"));
    assert_eq!(
        doc["model_providers"]["azure"]["name"].as_str(),
        Some("Azure")
    );
    assert_eq!(doc["model"].as_str(), Some("cx/gpt-5"));
    restore(tool, &s.home, &s.backups).expect("restored");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), original);
}

#[test]
fn codex_home_is_honoured() {
    let s = sandbox();
    let elsewhere = s.home.dir.join("work/codex");
    let home = s
        .home
        .clone()
        .with_var("CODEX_HOME", &elsewhere.display().to_string());
    let tool = find("codex").expect("listed");
    apply(tool, &home, &s.backups, &target(Some("default"))).expect("applied");
    assert!(elsewhere.join("config.toml").is_file());
    assert!(!s.home.dir.join(".codex").exists());
}

#[test]
fn a_malformed_file_is_an_error_and_nothing_changes() {
    let s = sandbox();
    let toml_file = s.home.dir.join(".codex/config.toml");
    write(&toml_file, "model = \"o3\"\n[model_providers\n");
    let json_file = s.home.dir.join(".claude/settings.json");
    write(&json_file, "{\"env\": {");
    for (id, file) in [("codex", &toml_file), ("claude-code", &json_file)] {
        let tool = find(id).expect("listed");
        let before = std::fs::read(file).expect("read");
        let err = apply(tool, &s.home, &s.backups, &target(Some("m"))).expect_err("refused");
        assert!(matches!(err, SetupError::Unreadable { .. }), "{err}");
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
        assert_eq!(std::fs::read(file).expect("read"), before);
        assert_eq!(
            status(tool, &s.home, &s.backups, BASE).state,
            ToolState::Unreadable
        );
        assert!(!s.backups.join(id).exists());
    }
}

#[cfg(unix)]
#[test]
fn a_config_that_leads_outside_the_tools_directory_is_not_written() {
    let s = sandbox();
    let outside = s.home.dir.join("dotfiles/settings.json");
    write(&outside, "{}");
    std::fs::create_dir_all(s.home.dir.join(".claude")).expect("dir");
    std::os::unix::fs::symlink(&outside, s.home.dir.join(".claude/settings.json")).expect("link");
    let tool = find("claude-code").expect("listed");
    let err = apply(tool, &s.home, &s.backups, &target(None)).expect_err("refused");
    assert!(matches!(err, SetupError::Outside { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&outside).expect("read"), "{}");
}

#[test]
fn a_backup_list_naming_a_file_elsewhere_is_not_followed() {
    let s = sandbox();
    let tool = find("claude-code").expect("listed");
    apply(tool, &s.home, &s.backups, &target(None)).expect("applied");
    let victim = s.home.dir.join(".bashrc");
    write(&victim, "mine");
    let manifest = s.backups.join("claude-code/manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    let claude = s
        .home
        .dir
        .join(".claude/settings.json")
        .display()
        .to_string();
    std::fs::write(
        &manifest,
        text.replace(&claude, &victim.display().to_string()),
    )
    .expect("tamper");
    let err = restore(tool, &s.home, &s.backups).expect_err("refused");
    assert!(matches!(err, SetupError::Outside { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "mine");
}

#[test]
fn a_tool_pointed_elsewhere_or_changed_after_setup_says_so() {
    let s = sandbox();
    let tool = find("claude-code").expect("listed");
    let file = s.home.dir.join(".claude/settings.json");
    write(
        &file,
        "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://api.example.com\"}}",
    );
    let st = status(tool, &s.home, &s.backups, BASE);
    assert_eq!(st.state, ToolState::Elsewhere);
    assert_eq!(st.base_url.as_deref(), Some("https://api.example.com"));
    apply(tool, &s.home, &s.backups, &target(Some("default"))).expect("applied");
    assert_eq!(
        status(tool, &s.home, &s.backups, "http://localhost:20128/").state,
        ToolState::Configured
    );
    write(
        &file,
        "{\"env\": {\"ANTHROPIC_BASE_URL\": \"https://api.example.com\"}}",
    );
    assert_eq!(
        status(tool, &s.home, &s.backups, BASE).state,
        ToolState::Drifted
    );
}

#[test]
fn a_tool_without_files_or_binary_is_not_installed_and_one_on_path_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let home = Home::isolated(&dir.path().join("home"), Some(&bin));
    let tool = find("codex").expect("listed");
    assert_eq!(
        status(tool, &home, dir.path(), BASE).state,
        ToolState::NotInstalled
    );
    std::fs::write(bin.join("codex"), "").expect("binary");
    let st = status(tool, &home, dir.path(), BASE);
    assert!(st.installed);
    assert_eq!(st.state, ToolState::NotConfigured);
}

#[test]
fn a_tool_that_lists_models_needs_one() {
    let s = sandbox();
    let err = plan(find("codex").expect("listed"), &s.home, &target(None)).expect_err("refused");
    assert!(err.to_string().contains("needs a model"), "{err}");
}

#[test]
fn every_tool_is_configured_after_apply_and_left_as_found_after_restore() {
    for tool in TOOLS {
        let s = sandbox();
        apply(*tool, &s.home, &s.backups, &target(Some("work"))).expect("applied");
        let st = status(*tool, &s.home, &s.backups, BASE);
        assert_eq!(st.state, ToolState::Configured, "{}: {st:?}", tool.id());
        assert_eq!(st.model.as_deref(), Some("work"), "{}", tool.id());
        assert_eq!(
            tool.read(&s.home).expect("read").key.as_deref(),
            Some("sk-test-key"),
            "{}",
            tool.id()
        );
        restore(*tool, &s.home, &s.backups).expect("restored");
        let left: Vec<_> = std::fs::read_dir(&s.home.dir).expect("home").collect();
        assert!(left.is_empty(), "{}: {left:?}", tool.id());
    }
}

#[test]
fn opencode_reads_jsonc_and_keeps_the_users_providers() {
    let s = sandbox();
    let file = s.home.dir.join(".config/opencode/opencode.jsonc");
    write(
        &file,
        "// mine\n{\n  \"theme\": \"dark\",\n  \"provider\": { \"ollama\": { \"npm\": \"x\", }, },\n}\n",
    );
    let tool = find("opencode").expect("listed");
    apply(
        tool,
        &s.home,
        &s.backups,
        &target(Some("cc/claude-sonnet-4-6")),
    )
    .expect("applied");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    assert_eq!(doc["theme"], "dark");
    assert_eq!(doc["provider"]["ollama"]["npm"], "x");
    assert_eq!(
        doc["provider"]["ninerouter"]["options"]["baseURL"],
        "http://127.0.0.1:20128/v1"
    );
    assert_eq!(
        doc["provider"]["ninerouter"]["models"]["cc/claude-sonnet-4-6"]["name"],
        "cc/claude-sonnet-4-6"
    );
    assert_eq!(doc["model"], "ninerouter/cc/claude-sonnet-4-6");
}

#[test]
fn openclaw_reads_json5_and_puts_the_default_on_its_allowlist() {
    let s = sandbox();
    let file = s.home.dir.join(".openclaw/openclaw.json");
    write(
        &file,
        "{ agents: { defaults: { models: { 'anthropic/claude': {}, }, }, }, gateway: { port: 18789 } }",
    );
    let tool = find("openclaw").expect("listed");
    apply(tool, &s.home, &s.backups, &target(Some("work"))).expect("applied");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
    assert_eq!(doc["gateway"]["port"], 18789);
    assert_eq!(
        doc["agents"]["defaults"]["model"]["primary"],
        "ninerouter/work"
    );
    assert!(doc["agents"]["defaults"]["models"]["anthropic/claude"].is_object());
    assert!(doc["agents"]["defaults"]["models"]["ninerouter/work"].is_object());
    assert_eq!(
        doc["models"]["providers"]["ninerouter"]["api"],
        "openai-completions"
    );
}

#[test]
fn droid_and_continue_replace_their_own_entry_and_keep_the_users() {
    let s = sandbox();
    let droid = s.home.dir.join(".factory/settings.json");
    write(
        &droid,
        r#"{"customModels": [{"model": "mine", "baseUrl": "https://api.example.com/v1", "apiKey": "k", "provider": "openai"}]}"#,
    );
    let cont = s.home.dir.join(".continue/config.yaml");
    write(
        &cont,
        "name: Mine\nversion: 0.0.1\nschema: v1\nmodels:\n  - name: Local\n    provider: ollama\n    model: llama3\n",
    );
    for id in ["droid", "continue"] {
        let tool = find(id).expect("listed");
        apply(tool, &s.home, &s.backups, &target(Some("a"))).expect("applied");
        apply(tool, &s.home, &s.backups, &target(Some("b"))).expect("again");
        assert_eq!(
            tool.read(&s.home).expect("read").model.as_deref(),
            Some("b"),
            "{id}"
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&droid).expect("read")).expect("JSON");
    let models = doc["customModels"].as_array().expect("a list");
    assert_eq!(models.len(), 2, "{models:?}");
    assert_eq!(models[0]["provider"], "generic-chat-completion-api");
    assert_eq!(models[1]["model"], "mine");
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&cont).expect("read")).expect("YAML");
    assert_eq!(doc["name"].as_str(), Some("Mine"));
    let models = doc["models"].as_sequence().expect("a list");
    assert_eq!(models.len(), 2, "{models:?}");
    assert_eq!(
        models[0]["apiBase"].as_str(),
        Some("http://127.0.0.1:20128/v1")
    );
    assert_eq!(models[1]["provider"].as_str(), Some("ollama"));
}

#[test]
fn gemini_cli_gets_its_key_in_dotenv_and_the_api_key_sign_in() {
    let s = sandbox();
    let tool = find("gemini-cli").expect("listed");
    apply(tool, &s.home, &s.backups, &target(None)).expect("applied");
    let env = std::fs::read_to_string(s.home.dir.join(".gemini/.env")).expect("read");
    assert!(
        env.contains("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:20128\n"),
        "{env}"
    );
    assert!(env.contains("GEMINI_API_KEY=sk-test-key\n"), "{env}");
    let settings: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(s.home.dir.join(".gemini/settings.json")).expect("read"),
    )
    .expect("JSON");
    assert_eq!(
        settings["security"]["auth"]["selectedType"],
        "gemini-api-key"
    );
    assert!(status(tool, &s.home, &s.backups, BASE).note.is_some());
}

#[test]
fn a_file_nested_to_exhaust_the_parser_or_too_large_is_refused() {
    let s = sandbox();
    let file = s.home.dir.join(".openclaw/openclaw.json");
    write(
        &file,
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let tool = find("openclaw").expect("listed");
    let err = apply(tool, &s.home, &s.backups, &target(Some("m"))).expect_err("refused");
    assert!(err.to_string().contains("nested too deeply"), "{err}");
    write(&file, &" ".repeat(5 << 20));
    let err = apply(tool, &s.home, &s.backups, &target(Some("m"))).expect_err("refused");
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_private_file_is_never_readable_by_others_even_while_written() {
    use std::os::unix::fs::PermissionsExt;
    let s = sandbox();
    let tool = find("claude-code").expect("listed");
    apply(tool, &s.home, &s.backups, &target(None)).expect("applied");
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&s.home.dir.join(".claude/settings.json")), 0o600);
    let left: Vec<_> = std::fs::read_dir(s.home.dir.join(".claude"))
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
