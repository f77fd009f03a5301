//! What a tray menu item does, and the item id that carries it (menu events only give the id).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SelectCombo(String),
    /// Point a coding tool (by id) at the router.
    PointTool(String),
    OpenDashboard,
    CopyEndpoint,
    TogglePause,
    ToggleAutostart,
    ToggleNotifications,
    Updates,
    Retry,
    UsePort(u16),
    Quit,
}

const COMBO: &str = "combo:";
const TOOL: &str = "tool:";
const PORT: &str = "port:";

impl Action {
    pub fn id(&self) -> String {
        match self {
            Action::SelectCombo(name) => format!("{COMBO}{name}"),
            Action::PointTool(id) => format!("{TOOL}{id}"),
            Action::OpenDashboard => "open".into(),
            Action::CopyEndpoint => "copy-url".into(),
            Action::TogglePause => "pause".into(),
            Action::ToggleAutostart => "autostart".into(),
            Action::ToggleNotifications => "notifications".into(),
            Action::Updates => "updates".into(),
            Action::Retry => "retry".into(),
            Action::UsePort(port) => format!("{PORT}{port}"),
            Action::Quit => "quit".into(),
        }
    }

    /// `None` for ids that are not actions (information lines, submenus).
    pub fn parse(id: &str) -> Option<Self> {
        if let Some(name) = id.strip_prefix(COMBO) {
            return Some(Action::SelectCombo(name.to_owned()));
        }
        if let Some(tool) = id.strip_prefix(TOOL) {
            return Some(Action::PointTool(tool.to_owned()));
        }
        if let Some(port) = id.strip_prefix(PORT) {
            return port.parse().ok().map(Action::UsePort);
        }
        Some(match id {
            "open" => Action::OpenDashboard,
            "copy-url" => Action::CopyEndpoint,
            "pause" => Action::TogglePause,
            "autostart" => Action::ToggleAutostart,
            "notifications" => Action::ToggleNotifications,
            "updates" => Action::Updates,
            "retry" => Action::Retry,
            "quit" => Action::Quit,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_survives_its_id() {
        let all = [
            Action::SelectCombo("sub → cheap/free".into()),
            Action::PointTool("claude-code".into()),
            Action::OpenDashboard,
            Action::CopyEndpoint,
            Action::TogglePause,
            Action::ToggleAutostart,
            Action::ToggleNotifications,
            Action::Updates,
            Action::Retry,
            Action::UsePort(20129),
            Action::Quit,
        ];
        for action in all {
            assert_eq!(Action::parse(&action.id()), Some(action));
        }
        assert_eq!(Action::parse("status"), None);
        assert_eq!(Action::parse("port:x"), None);
    }
}
