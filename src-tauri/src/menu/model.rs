//! The tray menu as plain data, built in one place from what the shell knows: the engine's
//! snapshot (or why the router is not running), start at login, notifications and updates.

use jiff::tz::TimeZone;
use ninerouter::engine::{AccountStatus, ProviderState, Snapshot};
use ninerouter::quota::{QuotaWindow, Window};
use ninerouter::routing::CircuitState;
use ninerouter::setup::tools::{ToolState, ToolStatus};

use super::action::Action;
use crate::clock::at_time;

/// The router as the menu shows it.
#[derive(Debug, Clone)]
pub enum Router<'a> {
    Starting,
    Running(&'a Snapshot),
    /// The port is taken; `free` is a nearby free port to offer instead.
    PortTaken {
        port: u16,
        free: Option<u16>,
    },
    Failed(&'a str),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum UpdateState {
    #[default]
    Idle,
    Checking,
    UpToDate,
    Available(String),
    Downloading(Option<u8>),
    /// Downloaded and verified; waiting for in-flight requests before installing.
    Installing,
    Failed(String),
}

pub struct MenuInput<'a> {
    pub router: Router<'a>,
    pub autostart: bool,
    pub notifications: bool,
    pub update: &'a UpdateState,
    /// The coding tools found on this machine.
    pub tools: &'a [ToolStatus],
}

/// What the tray icon shows besides its menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    Running,
    Paused,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Item {
        id: String,
        text: String,
        enabled: bool,
    },
    Check {
        id: String,
        text: String,
        checked: bool,
        enabled: bool,
    },
    Submenu {
        id: String,
        text: String,
        children: Vec<Entry>,
    },
    Separator,
}

impl Entry {
    fn item(action: &Action, text: impl Into<String>) -> Self {
        Entry::Item {
            id: action.id(),
            text: text.into(),
            enabled: true,
        }
    }

    fn info(id: impl Into<String>, text: impl Into<String>) -> Self {
        Entry::Item {
            id: id.into(),
            text: text.into(),
            enabled: false,
        }
    }

    fn check(action: &Action, text: impl Into<String>, checked: bool) -> Self {
        Entry::Check {
            id: action.id(),
            text: text.into(),
            checked,
            enabled: true,
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Entry::Item { id, .. } | Entry::Check { id, .. } | Entry::Submenu { id, .. } => {
                Some(id)
            }
            Entry::Separator => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuModel {
    pub tooltip: String,
    pub badge: Badge,
    pub entries: Vec<Entry>,
}

/// When the menu built from `snapshot` next reads differently with nothing else changing: an
/// account's last cooldown, an open circuit, a provider's tightest quota window or a combo's
/// cooling ends, or one of those times comes within a day and loses its weekday (see
/// `at_time`). Only times the menu shows count: a quota reset days away on a window the menu
/// does not show wakes nothing. The tray sleeps until then instead of looking on a tick.
pub fn next_change(snapshot: &Snapshot, now_ms: i64) -> Option<i64> {
    let providers = snapshot.providers.iter().flat_map(|p| {
        let back = p
            .accounts
            .iter()
            .filter(|a| a.state == AccountStatus::CoolingDown)
            .filter_map(|a| a.cooldowns.iter().map(|c| c.until_ms).max());
        let circuit = p
            .circuit
            .as_ref()
            .filter(|c| c.state == CircuitState::Open)
            .and_then(|c| c.open_until_ms);
        let reset = tightest_window(p).and_then(|w| w.resets_at_ms);
        back.chain(circuit).chain(reset)
    });
    let combos = snapshot.combos.iter().filter_map(|c| c.cooling_until_ms);
    providers
        .chain(combos)
        .flat_map(|t| [t, t - crate::clock::NAMES_THE_DAY_BEYOND_MS + 1])
        .filter(|&t| t > now_ms)
        .min()
}

/// Beyond this many providers the menu says how many more there are instead.
const MAX_PROVIDER_LINES: usize = 8;

pub fn build(input: &MenuInput<'_>, tz: &TimeZone, now_ms: i64) -> MenuModel {
    let mut entries = Vec::new();
    let (status, badge) = match &input.router {
        Router::Starting => ("NineRouter is starting…".to_owned(), Badge::Running),
        Router::Running(s) if s.paused => (
            format!("Routing paused · http://{}", s.address),
            Badge::Paused,
        ),
        Router::Running(s) => (
            format!("NineRouter is running · http://{}", s.address),
            Badge::Running,
        ),
        Router::PortTaken { port, .. } => (
            format!("Not running: port {port} is in use by another program"),
            Badge::Error,
        ),
        Router::Failed(why) => (format!("Not running: {why}"), Badge::Error),
    };
    entries.push(Entry::info("status", status.clone()));
    if let Router::Running(s) = &input.router
        && s.secrets_waiting
    {
        entries.push(Entry::info(
            "secrets-waiting",
            "Waiting for the keychain: unlock it to use the saved keys",
        ));
    }

    match &input.router {
        Router::Running(snapshot) => {
            entries.push(Entry::Separator);
            entries.push(combo_menu(snapshot, tz, now_ms));
            let providers = &snapshot.providers;
            if providers.is_empty() {
                entries.push(Entry::info(
                    "provider-none",
                    "No providers yet: add one in the dashboard",
                ));
            }
            for p in providers.iter().take(MAX_PROVIDER_LINES) {
                entries.push(Entry::info(
                    format!("provider:{}", p.id),
                    provider_line(p, tz, now_ms),
                ));
            }
            if providers.len() > MAX_PROVIDER_LINES {
                entries.push(Entry::info(
                    "provider-more",
                    format!(
                        "…and {} more in the dashboard",
                        providers.len() - MAX_PROVIDER_LINES
                    ),
                ));
            }
            entries.push(Entry::Separator);
            entries.push(Entry::item(&Action::OpenDashboard, "Open Dashboard"));
            entries.push(Entry::item(&Action::CopyEndpoint, "Copy Endpoint URL"));
            let pause = if snapshot.paused {
                "Resume Routing"
            } else {
                "Pause Routing"
            };
            entries.push(Entry::item(&Action::TogglePause, pause));
            entries.push(tools_menu(input.tools));
        }
        Router::PortTaken { port, free } => {
            entries.push(Entry::item(&Action::Retry, format!("Retry on Port {port}")));
            if let Some(free) = free {
                entries.push(Entry::item(
                    &Action::UsePort(*free),
                    format!("Use Port {free} This Time"),
                ));
            }
            entries.push(Entry::item(&Action::OpenDashboard, "Open Dashboard"));
        }
        Router::Failed(_) => {
            entries.push(Entry::item(&Action::Retry, "Retry"));
        }
        Router::Starting => {}
    }

    entries.push(Entry::Separator);
    entries.push(Entry::check(
        &Action::ToggleAutostart,
        "Start at Login",
        input.autostart,
    ));
    entries.push(Entry::check(
        &Action::ToggleNotifications,
        "Notifications",
        input.notifications,
    ));
    entries.push(update_entry(input.update));
    entries.push(Entry::Separator);
    entries.push(Entry::item(&Action::Quit, "Quit NineRouter"));

    MenuModel {
        tooltip: status,
        badge,
        entries,
    }
}

/// "Point Claude Code at NineRouter" for each installed tool not pointed here yet; a tool
/// that is says so.
fn tools_menu(tools: &[ToolStatus]) -> Entry {
    let mut children: Vec<Entry> = tools
        .iter()
        .filter(|t| t.installed)
        .map(|t| match t.state {
            ToolState::Configured => Entry::info(
                format!("tool-ok:{}", t.id),
                format!("{} uses NineRouter", t.name),
            ),
            ToolState::Unreadable => Entry::info(
                format!("tool-bad:{}", t.id),
                format!("{}: its config cannot be read", t.name),
            ),
            _ => Entry::item(
                &Action::PointTool(t.id.clone()),
                format!("Point {} at NineRouter", t.name),
            ),
        })
        .collect();
    if children.is_empty() {
        children.push(Entry::info(
            "tool-none",
            "No coding tools found on this computer",
        ));
    }
    Entry::Submenu {
        id: "tools".into(),
        text: "Set Up Tools".into(),
        children,
    }
}

fn combo_menu(snapshot: &Snapshot, tz: &TimeZone, now_ms: i64) -> Entry {
    let active = snapshot.active_combo.as_deref();
    let children = if snapshot.combos.is_empty() {
        vec![Entry::info(
            "combo-none",
            "No combos yet: create one in the dashboard",
        )]
    } else {
        snapshot
            .combos
            .iter()
            .map(|c| {
                let text = match c.cooling_until_ms {
                    Some(until) => format!(
                        "{} (all accounts cooling until {})",
                        c.name,
                        at_time(until, tz, now_ms)
                    ),
                    None => c.name.clone(),
                };
                Entry::check(
                    &Action::SelectCombo(c.name.clone()),
                    text,
                    active == Some(c.name.as_str()),
                )
            })
            .collect()
    };
    // The title stays the same (the check mark says which is active): a submenu's title
    // cannot be changed in place on every platform (libdbusmenu keeps the old one).
    Entry::Submenu {
        id: "combos".into(),
        text: "Active Combo".into(),
        children,
    }
}

/// "Claude: 2 ready · 5-hour 27% left, resets 14:05": accounts first, then the tightest quota.
fn provider_line(p: &ProviderState, tz: &TimeZone, now_ms: i64) -> String {
    let count = |s: AccountStatus| p.accounts.iter().filter(|a| a.state == s).count();
    let (ready, cooling) = (
        count(AccountStatus::Active),
        count(AccountStatus::CoolingDown),
    );
    let back = p
        .accounts
        .iter()
        .filter(|a| a.state == AccountStatus::CoolingDown)
        .filter_map(|a| a.cooldowns.iter().map(|c| c.until_ms).max())
        .min();
    let mut parts = Vec::new();
    if let Some(c) = &p.circuit {
        parts.push(match c.open_until_ms.filter(|&t| t > now_ms) {
            Some(t) if c.state == CircuitState::Open => {
                format!("down, next try {}", at_time(t, tz, now_ms))
            }
            _ => "down, probing".to_owned(),
        });
    }
    match (ready, cooling, back) {
        (0, 0, _)
            if count(AccountStatus::NeedsLogin) + count(AccountStatus::SecretUnavailable) > 0 => {}
        (0, 0, _) => parts.push("disabled".to_owned()),
        (0, _, Some(t)) => parts.push(format!("all cooling until {}", at_time(t, tz, now_ms))),
        (r, 0, _) => parts.push(format!("{r} ready")),
        (r, c, Some(t)) => parts.push(format!(
            "{r} ready, {c} cooling until {}",
            at_time(t, tz, now_ms)
        )),
        (r, c, None) => parts.push(format!("{r} ready, {c} cooling")),
    }
    let relogin = count(AccountStatus::NeedsLogin);
    if relogin > 0 {
        parts.push(format!("{relogin} needs login"));
    }
    let unreadable = count(AccountStatus::SecretUnavailable);
    if unreadable > 0 {
        parts.push(format!("{unreadable} secret unavailable"));
    }
    if let Some(w) = tightest_window(p) {
        let left = 100.0 - w.percent_used.unwrap_or(0.0);
        let mut q = format!("{} {left:.0}% left", window_name(w.window));
        if let Some(reset) = w.resets_at_ms.filter(|&t| t > now_ms) {
            q.push_str(&format!(", resets {}", at_time(reset, tz, now_ms)));
        }
        parts.push(q);
    }
    format!("{}: {}", p.name, parts.join(" · "))
}

/// The window closest to running out, across the provider's enabled accounts.
fn tightest_window(p: &ProviderState) -> Option<&QuotaWindow> {
    p.accounts
        .iter()
        .filter(|a| a.enabled)
        .filter_map(|a| a.quota.as_ref())
        .flat_map(|q| q.windows.iter())
        .filter(|w| w.percent_used.is_some())
        .max_by(|a, b| {
            a.percent_used
                .partial_cmp(&b.percent_used)
                .unwrap_or(std::cmp::Ordering::Equal)
        })
}

fn window_name(w: Window) -> &'static str {
    match w {
        Window::Minute => "per-minute",
        Window::FiveHour => "5-hour",
        Window::Daily => "daily",
        Window::Weekly => "weekly",
        Window::Monthly => "monthly",
        Window::Total => "credit",
    }
}

fn update_entry(state: &UpdateState) -> Entry {
    let (text, enabled) = match state {
        UpdateState::Idle => ("Check for Updates…".to_owned(), true),
        UpdateState::Checking => ("Checking for Updates…".to_owned(), false),
        UpdateState::UpToDate => ("Check for Updates… (up to date)".to_owned(), true),
        UpdateState::Available(v) => (format!("Install Update {v}…"), true),
        UpdateState::Downloading(Some(pct)) => (format!("Downloading Update… {pct}%"), false),
        UpdateState::Downloading(None) => ("Downloading Update…".to_owned(), false),
        UpdateState::Installing => ("Installing Update after Requests Finish…".to_owned(), false),
        UpdateState::Failed(_) => ("Check for Updates… (last try failed)".to_owned(), true),
    };
    Entry::Item {
        id: Action::Updates.id(),
        text,
        enabled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ninerouter::catalog::{ComboStrategy, Source};
    use ninerouter::engine::{AccountState, ComboState};
    use ninerouter::quota::{QuotaSnapshot, QuotaSource};
    use ninerouter::routing::CooldownInfo;

    const NOW: i64 = 1_763_712_000_000; // 2025-11-21T08:00:00Z

    fn account(id: &str, state: AccountStatus, cooling_until: Option<i64>) -> AccountState {
        AccountState {
            id: id.into(),
            name: id.into(),
            priority: 1,
            enabled: state != AccountStatus::Disabled,
            state,
            cooldowns: cooling_until
                .map(|until_ms| CooldownInfo {
                    model: "*".into(),
                    until_ms,
                    failures: 1,
                    reason: "rate limit".into(),
                    needs_login: state == AccountStatus::NeedsLogin,
                })
                .into_iter()
                .collect(),
            quota: None,
        }
    }

    fn snapshot() -> Snapshot {
        let mut claude = account("c1", AccountStatus::Active, None);
        claude.quota = Some(QuotaSnapshot {
            account_id: "c1".into(),
            windows: vec![
                QuotaWindow {
                    window: Window::Weekly,
                    metric: "requests".into(),
                    model: None,
                    used: None,
                    limit: None,
                    remaining: None,
                    percent_used: Some(40.0),
                    resets_at_ms: Some(NOW + 3 * 86_400_000),
                },
                QuotaWindow {
                    window: Window::FiveHour,
                    metric: "requests".into(),
                    model: None,
                    used: None,
                    limit: None,
                    remaining: None,
                    percent_used: Some(73.0),
                    resets_at_ms: Some(NOW + 2 * 3_600_000 + 5 * 60_000),
                },
            ],
            source: QuotaSource::Api,
            fetched_ms: NOW,
            error: None,
        });
        Snapshot {
            address: "127.0.0.1:20128".into(),
            secret_backend: "keychain".into(),
            secrets_waiting: false,
            paused: false,
            active_combo: Some("smart".into()),
            providers: vec![
                ProviderState {
                    id: "anthropic".into(),
                    prefix: "anthropic".into(),
                    name: "Anthropic".into(),
                    accounts: vec![
                        claude,
                        account("c2", AccountStatus::CoolingDown, Some(NOW + 600_000)),
                    ],
                    circuit: None,
                },
                ProviderState {
                    id: "openrouter".into(),
                    prefix: "openrouter".into(),
                    name: "OpenRouter".into(),
                    accounts: vec![account(
                        "r1",
                        AccountStatus::CoolingDown,
                        Some(NOW + 60_000),
                    )],
                    circuit: None,
                },
            ],
            combos: vec![
                ComboState {
                    name: "smart".into(),
                    cooling_until_ms: None,
                    models: vec!["anthropic/claude-sonnet-4-5".into()],
                    strategy: ComboStrategy::Fallback,
                    source: Source::Api,
                },
                ComboState {
                    name: "cheap".into(),
                    cooling_until_ms: Some(NOW + 60_000),
                    models: vec!["openrouter/x".into()],
                    strategy: ComboStrategy::Fallback,
                    source: Source::Api,
                },
            ],
        }
    }

    fn texts(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Item { text, enabled, .. } => {
                    format!("{}{text}", if *enabled { "" } else { "(info) " })
                }
                Entry::Check { text, checked, .. } => {
                    format!("[{}] {text}", if *checked { "x" } else { " " })
                }
                Entry::Submenu { text, children, .. } => {
                    format!("{text} > {}", texts(children).join(" | "))
                }
                Entry::Separator => "---".into(),
            })
            .collect()
    }

    fn input<'a>(router: Router<'a>, update: &'a UpdateState) -> MenuInput<'a> {
        MenuInput {
            router,
            autostart: true,
            notifications: false,
            update,
            tools: &[],
        }
    }

    fn tool(id: &str, name: &str, installed: bool, state: ToolState) -> ToolStatus {
        ToolStatus {
            id: id.into(),
            name: name.into(),
            installed,
            state,
            base_url: None,
            model: None,
            restorable: false,
            dir: String::new(),
            error: None,
            note: None,
        }
    }

    #[test]
    fn installed_tools_can_be_pointed_here_from_the_menu() {
        let s = snapshot();
        let tools = [
            tool("claude-code", "Claude Code", true, ToolState::NotConfigured),
            tool("codex", "Codex CLI", true, ToolState::Configured),
            tool("droid", "Droid", false, ToolState::NotInstalled),
            tool("opencode", "OpenCode", true, ToolState::Elsewhere),
        ];
        let m = build(
            &MenuInput {
                tools: &tools,
                ..input(Router::Running(&s), &UpdateState::Idle)
            },
            &TimeZone::UTC,
            NOW,
        );
        let line = texts(&m.entries)
            .into_iter()
            .find(|t| t.starts_with("Set Up Tools"))
            .expect("the submenu");
        assert_eq!(
            line,
            "Set Up Tools > Point Claude Code at NineRouter | (info) Codex CLI uses NineRouter | Point OpenCode at NineRouter"
        );
        let point = m
            .entries
            .iter()
            .find_map(|e| match e {
                Entry::Submenu { children, .. } if e.id() == Some("tools") => {
                    children.first().and_then(Entry::id)
                }
                _ => None,
            })
            .expect("an item");
        assert_eq!(
            Action::parse(point),
            Some(Action::PointTool("claude-code".into()))
        );
        let none = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert!(
            texts(&none.entries).contains(
                &"Set Up Tools > (info) No coding tools found on this computer".to_owned()
            )
        );
    }

    #[test]
    fn a_running_router_shows_combos_health_and_controls() {
        let s = snapshot();
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(m.badge, Badge::Running);
        assert_eq!(
            texts(&m.entries),
            [
                "(info) NineRouter is running · http://127.0.0.1:20128",
                "---",
                "Active Combo > [x] smart | [ ] cheap (all accounts cooling until 08:01)",
                "(info) Anthropic: 1 ready, 1 cooling until 08:10 · 5-hour 27% left, resets 10:05",
                "(info) OpenRouter: all cooling until 08:01",
                "---",
                "Open Dashboard",
                "Copy Endpoint URL",
                "Pause Routing",
                "Set Up Tools > (info) No coding tools found on this computer",
                "---",
                "[x] Start at Login",
                "[ ] Notifications",
                "Check for Updates…",
                "---",
                "Quit NineRouter",
            ]
        );
    }

    #[test]
    fn a_provider_that_is_down_says_so_first() {
        let mut s = snapshot();
        s.providers[1].circuit = Some(ninerouter::routing::CircuitInfo {
            endpoint: "https://openrouter.ai/api/v1".into(),
            provider: "openrouter".into(),
            state: CircuitState::Open,
            failures: 3,
            open_until_ms: Some(NOW + 30_000),
            last_error: Some("the provider answered 503".into()),
        });
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert!(
            texts(&m.entries).contains(
                &"(info) OpenRouter: down, next try 08:00 · all cooling until 08:01".to_owned()
            ),
            "{:?}",
            texts(&m.entries)
        );
        if let Some(c) = s.providers[1].circuit.as_mut() {
            c.state = CircuitState::HalfOpen;
        }
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert!(
            texts(&m.entries)
                .iter()
                .any(|t| t.starts_with("(info) OpenRouter: down, probing")),
            "{:?}",
            texts(&m.entries)
        );
    }

    #[test]
    fn paused_routing_offers_resume_and_badges_the_icon() {
        let mut s = snapshot();
        s.paused = true;
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(m.badge, Badge::Paused);
        assert!(m.tooltip.starts_with("Routing paused"));
        assert!(texts(&m.entries).contains(&"Resume Routing".to_owned()));
    }

    #[test]
    fn a_taken_port_offers_retry_and_a_free_port() {
        let update = UpdateState::Available("0.2.0".into());
        let m = build(
            &input(
                Router::PortTaken {
                    port: 20128,
                    free: Some(20129),
                },
                &update,
            ),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(m.badge, Badge::Error);
        let t = texts(&m.entries);
        assert_eq!(
            t[0],
            "(info) Not running: port 20128 is in use by another program"
        );
        assert_eq!(t[1], "Retry on Port 20128");
        assert_eq!(t[2], "Use Port 20129 This Time");
        assert!(t.contains(&"Install Update 0.2.0…".to_owned()));
        assert!(!t.iter().any(|l| l.starts_with("Active Combo")));
    }

    #[test]
    fn empty_catalogs_say_where_to_start() {
        let mut s = snapshot();
        s.providers.clear();
        s.combos.clear();
        s.active_combo = None;
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        let t = texts(&m.entries);
        assert_eq!(
            t[2],
            "Active Combo > (info) No combos yet: create one in the dashboard"
        );
        assert_eq!(t[3], "(info) No providers yet: add one in the dashboard");
    }

    #[test]
    fn accounts_whose_login_was_refused_say_so() {
        let mut s = snapshot();
        let mut refused = account("r2", AccountStatus::NeedsLogin, Some(NOW + 30 * 86_400_000));
        refused.cooldowns[0].reason = "needs login: the saved login was refused".into();
        s.providers[1].accounts = vec![refused];
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(texts(&m.entries)[4], "(info) OpenRouter: 1 needs login");
        s.providers[0].accounts[1].state = AccountStatus::NeedsLogin;
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(
            texts(&m.entries)[3],
            "(info) Anthropic: 1 ready · 1 needs login · 5-hour 27% left, resets 10:05"
        );
    }

    #[test]
    fn a_keychain_waited_for_and_its_accounts_say_so() {
        let mut s = snapshot();
        s.secrets_waiting = true;
        s.providers[1].accounts = vec![account("r2", AccountStatus::SecretUnavailable, None)];
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        let t = texts(&m.entries);
        assert_eq!(
            t[1],
            "(info) Waiting for the keychain: unlock it to use the saved keys"
        );
        assert_eq!(t[5], "(info) OpenRouter: 1 secret unavailable");
    }

    #[test]
    fn far_resets_name_the_day() {
        let mut s = snapshot();
        s.providers[1].accounts[0].cooldowns[0].until_ms = NOW + 3 * 86_400_000;
        let m = build(
            &input(Router::Running(&s), &UpdateState::Idle),
            &TimeZone::UTC,
            NOW,
        );
        assert_eq!(
            texts(&m.entries)[4],
            "(info) OpenRouter: all cooling until Mon 08:00"
        );
    }

    #[test]
    fn the_menu_is_looked_at_again_when_a_time_it_shows_passes_or_loses_its_weekday() {
        let s = snapshot();
        // The earliest: OpenRouter's cooldown and the cheap combo's, a minute from now.
        assert_eq!(next_change(&s, NOW), Some(NOW + 60_000));
        assert_eq!(next_change(&s, NOW + 60_000), Some(NOW + 600_000));
        // Then the tightest window's reset (the 5-hour one); the weekly window, which the menu
        // does not show, wakes nothing.
        assert_eq!(
            next_change(&s, NOW + 600_000),
            Some(NOW + 2 * 3_600_000 + 5 * 60_000)
        );
        assert_eq!(next_change(&s, NOW + 3 * 3_600_000), None);
        // Three days off, the menu names the day until the time comes within a day.
        let mut far = snapshot();
        far.providers.truncate(1);
        far.providers[0].accounts.truncate(1);
        far.providers[0].accounts[0].quota = None;
        far.combos.clear();
        far.providers.push(s.providers[1].clone());
        far.providers[1].accounts[0].cooldowns[0].until_ms = NOW + 3 * 86_400_000;
        let change = next_change(&far, NOW);
        assert_eq!(change, Some(NOW + 3 * 86_400_000 - 20 * 3_600_000 + 1));
        let at = |t: i64| {
            let m = build(
                &input(Router::Running(&far), &UpdateState::Idle),
                &TimeZone::UTC,
                t,
            );
            texts(&m.entries)[4].clone()
        };
        let change = change.unwrap_or_default();
        assert_eq!(at(NOW), at(change - 1), "nothing to redraw before then");
        assert_eq!(
            at(change - 1),
            "(info) OpenRouter: all cooling until Mon 08:00"
        );
        assert_eq!(at(change), "(info) OpenRouter: all cooling until 08:00");
        // Nothing ahead: no wake-up at all.
        assert_eq!(next_change(&far, NOW + 4 * 86_400_000), None);
    }

    #[test]
    fn update_progress_is_shown_and_not_clickable() {
        let update = UpdateState::Downloading(Some(40));
        let s = snapshot();
        let m = build(&input(Router::Running(&s), &update), &TimeZone::UTC, NOW);
        let entry = m.entries.iter().find(|e| e.id() == Some("updates"));
        assert_eq!(
            entry,
            Some(&Entry::Item {
                id: "updates".into(),
                text: "Downloading Update… 40%".into(),
                enabled: false
            })
        );
    }
}
