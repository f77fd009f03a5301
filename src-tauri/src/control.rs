//! The tray actions that act on the engine alone (no display involved), so their effect on the
//! engine and on the next menu can be tested headless.

use ninerouter::engine::Core;
use ninerouter::manage::ManageError;

/// Makes `name` the combo that clients asking for `default` get (recorded in the audit log).
pub async fn select_combo(core: &Core, name: &str) -> Result<(), ManageError> {
    ninerouter::manage::shell_set_active_combo(core, name).await
}

/// Points a coding tool at the router with its defaults (a key named after it, the active
/// combo); returns what to tell the user.
pub async fn point_tool(core: &Core, id: &str) -> Result<String, ManageError> {
    let done = ninerouter::manage::apply_tool(core, id, Default::default()).await?;
    Ok(format!("{} now uses NineRouter.", done.tool.name))
}

/// Pauses routing if it runs, resumes it if paused (recorded in the audit log); returns
/// whether it is paused now.
pub async fn toggle_pause(core: &Core) -> bool {
    let paused = !core.is_paused();
    ninerouter::manage::shell_set_paused(core, paused).await;
    paused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::{Entry, MenuInput, Router, UpdateState, build};
    use jiff::tz::TimeZone;
    use ninerouter::engine::{Engine, EngineOptions};
    use ninerouter::secrets::BackendChoice;

    async fn engine(dir: &std::path::Path) -> anyhow::Result<Engine> {
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            "[[provider]]\nprovider = \"openai\"\nname = \"work\"\napi_key = \"sk-test\"\n\n\
             [[combo]]\nname = \"cheap\"\nmodels = [\"openai/gpt-4o-mini\"]\n\n\
             [[combo]]\nname = \"smart\"\nmodels = [\"openai/gpt-4o\"]\n",
        )?;
        Ok(Engine::start(EngineOptions {
            port: Some(0),
            data_dir: dir.join("data"),
            config_file: Some(config),
            secrets: BackendChoice::Memory,
            ..EngineOptions::default()
        })
        .await?)
    }

    fn menu_texts(core: &Core) -> Vec<String> {
        let snapshot = core.snapshot();
        let model = build(
            &MenuInput {
                router: Router::Running(&snapshot),
                autostart: false,
                notifications: true,
                update: &UpdateState::Idle,
                tools: &ninerouter::manage::list_tools(core).unwrap_or_default(),
            },
            &TimeZone::UTC,
            0,
        );
        fn walk(entries: &[Entry], out: &mut Vec<String>) {
            for e in entries {
                match e {
                    Entry::Item { text, .. } => out.push(text.clone()),
                    Entry::Check { text, checked, .. } => {
                        out.push(format!("[{}] {text}", if *checked { "x" } else { " " }));
                    }
                    Entry::Submenu { children, .. } => walk(children, out),
                    Entry::Separator => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&model.entries, &mut out);
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn switching_combos_and_pausing_show_in_the_next_menu() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let engine = engine(dir.path()).await?;
        let core = engine.core();
        let texts = menu_texts(&core);
        assert!(texts.contains(&"[ ] cheap".to_owned()) && texts.contains(&"[ ] smart".to_owned()));

        select_combo(&core, "smart").await?;
        assert_eq!(core.active_combo().as_deref(), Some("smart"));
        let texts = menu_texts(&core);
        assert!(texts.contains(&"[x] smart".to_owned()) && texts.contains(&"[ ] cheap".to_owned()));
        assert!(select_combo(&core, "nope").await.is_err());
        assert_eq!(core.active_combo().as_deref(), Some("smart"));

        assert!(toggle_pause(&core).await);
        assert!(menu_texts(&core).contains(&"Resume Routing".to_owned()));
        assert!(!toggle_pause(&core).await);
        let audit = ninerouter::manage::list_audit(&core, 10, None).await?;
        let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "resume routing",
                "pause routing",
                "set active combo",
                "set active combo"
            ]
        );
        assert!(audit.iter().all(|e| e.actor == "desktop"));
        assert!(menu_texts(&core).contains(&"Pause Routing".to_owned()));
        engine.stop().await;
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pointing_a_tool_from_the_menu_writes_its_config_and_the_menu_says_so()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".codex"))?;
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "[[combo]]\nname = \"cheap\"\nmodels = [\"openai/gpt-4o-mini\"]\n",
        )?;
        let engine = Engine::start(EngineOptions {
            port: Some(0),
            data_dir: dir.path().join("data"),
            config_file: Some(config),
            secrets: BackendChoice::Memory,
            home: Some(home.clone()),
            ..EngineOptions::default()
        })
        .await?;
        let core = engine.core();
        assert!(menu_texts(&core).contains(&"Point Codex CLI at NineRouter".to_owned()));
        assert_eq!(
            point_tool(&core, "codex").await?,
            "Codex CLI now uses NineRouter."
        );
        let written = std::fs::read_to_string(home.join(".codex/config.toml"))?;
        assert!(
            written.contains(&format!("base_url = \"http://{}/v1\"", engine.address())),
            "{written}"
        );
        assert!(
            written.contains("model = \"cheap\""),
            "the only combo: {written}"
        );
        assert!(menu_texts(&core).contains(&"Codex CLI uses NineRouter".to_owned()));
        assert!(point_tool(&core, "nosuch").await.is_err());
        engine.stop().await;
        Ok(())
    }
}
