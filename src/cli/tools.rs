//! `ninerouter tools`: which coding tools are installed and where they point; `apply` points
//! one at the router (showing what changes), `restore` puts its files back.

use clap::Subcommand;
use serde_json::{Value, json};

use super::remote::{Remote, RouterArgs};

#[derive(Subcommand, Debug)]
pub enum ToolsCommand {
    /// Each tool: installed or not, and where its config points (the default).
    List,
    /// Point a tool at the router: writes its own config files, backing up what it replaces.
    Apply {
        /// claude-code, codex, gemini-cli, opencode, droid, openclaw or continue
        tool: String,
        /// The URL the tool is given [default: this router]
        #[arg(long)]
        url: Option<String>,
        /// The proxy key the tool sends [default: a new key named after the tool]
        #[arg(long)]
        key: Option<String>,
        /// The model it asks for [default: the active combo]
        #[arg(long)]
        model: Option<String>,
        /// Show the change without writing anything
        #[arg(long)]
        dry_run: bool,
    },
    /// Put a tool's files back as they were before NineRouter set it up.
    Restore { tool: String },
}

pub async fn run(command: Option<ToolsCommand>, router: &RouterArgs) -> anyhow::Result<()> {
    let remote = Remote::new(router)?;
    match command.unwrap_or(ToolsCommand::List) {
        ToolsCommand::List => {
            let tools: Vec<Value> = remote.get(&["tools"]).await?;
            for t in &tools {
                let text = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
                let state = match text("state") {
                    "configured" => "configured for this router".to_owned(),
                    "elsewhere" => format!("configured for {}", text("baseUrl")),
                    "drifted" => "changed since NineRouter set it up".to_owned(),
                    "not-configured" => "installed, not configured".to_owned(),
                    "not-installed" => "not installed".to_owned(),
                    "unreadable" => format!("unreadable: {}", text("error")),
                    other => other.to_owned(),
                };
                println!("{:<12} {:<12} {state}", text("id"), text("name"));
            }
        }
        ToolsCommand::Apply {
            tool,
            url,
            key,
            model,
            dry_run,
        } => {
            let body = json!({ "url": url, "key": key, "model": model });
            let preview: Value = remote.post(&["tools", &tool, "preview"], &body).await?;
            for file in preview["files"].as_array().into_iter().flatten() {
                print!("{}", file["diff"].as_str().unwrap_or(""));
            }
            if dry_run {
                println!("(dry run: nothing was written)");
                return Ok(());
            }
            let applied: Value = remote.post(&["tools", &tool, "apply"], &body).await?;
            let name = applied
                .pointer("/tool/name")
                .and_then(Value::as_str)
                .unwrap_or(&tool);
            println!(
                "{name} now uses NineRouter at {}.",
                preview["url"].as_str().unwrap_or("")
            );
            if let Some(k) = applied["createdKey"].as_str() {
                println!("A proxy key named '{k}' was made for it.");
            }
            println!("Undo with: ninerouter tools restore {tool}");
        }
        ToolsCommand::Restore { tool } => {
            let restored: Value = remote
                .post(&["tools", &tool, "restore"], &Value::Null)
                .await?;
            for f in restored["files"].as_array().into_iter().flatten() {
                println!("restored {}", f.as_str().unwrap_or(""));
            }
            for f in restored["keptAside"].as_array().into_iter().flatten() {
                println!("kept your later changes in {}", f.as_str().unwrap_or(""));
            }
            if let Some(k) = restored["revokedKey"].as_str() {
                println!("revoked the key '{k}' made for it");
            }
        }
    }
    Ok(())
}
