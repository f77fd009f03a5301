//! The desktop around the app, on the test's session bus: a StatusNotifier watcher (so the app
//! sees a tray host), a notification server that records what it is asked to show, and a
//! reader/clicker for the tray menu the app publishes (com.canonical.dbusmenu, via gdbus).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dbus::blocking::Connection;
use dbus::channel::MatchingReceiver;
use dbus::message::MatchRule;

pub type Shown = Arc<Mutex<Vec<(String, String)>>>;

/// Owns `org.kde.StatusNotifierWatcher` and `org.freedesktop.Notifications` while alive.
pub struct FakeDesktop {
    pub notifications: Shown,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDesktop {
    pub fn start() -> FakeDesktop {
        let notifications: Shown = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let (notifications, stop) = (notifications.clone(), stop.clone());
            std::thread::spawn(move || {
                let conn = Connection::new_session().expect("session bus");
                for name in [
                    "org.kde.StatusNotifierWatcher",
                    "org.freedesktop.Notifications",
                ] {
                    conn.request_name(name, false, true, true)
                        .expect("own the name");
                }
                conn.start_receive(
                    MatchRule::new_method_call(),
                    Box::new(move |msg, conn| {
                        let reply = match msg.member().as_deref() {
                            Some("Notify") => {
                                let (_app, _replaces, _icon, summary, body): (
                                    String,
                                    u32,
                                    String,
                                    String,
                                    String,
                                ) = msg.read5().unwrap_or_default();
                                notifications.lock().expect("lock").push((summary, body));
                                msg.method_return().append1(1u32)
                            }
                            Some("GetCapabilities") => {
                                msg.method_return().append1(vec!["body".to_owned()])
                            }
                            Some("GetServerInformation") => msg
                                .method_return()
                                .append2("fake", "ninerouter-tests")
                                .append2("1", "1.2"),
                            _ => msg.method_return(),
                        };
                        use dbus::channel::Sender;
                        let _ = conn.send(reply);
                        true
                    }),
                );
                ready_tx.send(()).expect("ready");
                while !stop.load(Ordering::Relaxed) {
                    let _ = conn.process(Duration::from_millis(50));
                }
            })
        };
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the fake desktop owns its names");
        FakeDesktop {
            notifications,
            stop,
            thread: Some(thread),
        }
    }

    pub fn shown(&self) -> Vec<(String, String)> {
        self.notifications.lock().expect("lock").clone()
    }
}

impl Drop for FakeDesktop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const MENU_PATH: &str = "/org/ayatana/NotificationItem/tray_icon_tray_app_ninerouter/Menu";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
    /// `Some` for check items.
    pub checked: Option<bool>,
}

fn gdbus(args: &[&str]) -> Result<String, String> {
    let out = Command::new("gdbus")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `gdbus call` on the session bus: `method` of `dest` at `path`, with `args`.
fn call(dest: &str, path: &str, method: &str, args: &[&str]) -> Result<String, String> {
    let head = [
        "call",
        "--session",
        "--dest",
        dest,
        "--object-path",
        path,
        "--method",
        method,
    ];
    gdbus(&[&head[..], args].concat())
}

/// The bus name of the process `pid` (the connection that exports the tray menu).
pub fn bus_name_of(pid: u32) -> Option<String> {
    let names = call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus.ListNames",
        &[],
    )
    .ok()?;
    names
        .split('\'')
        .filter(|n| n.starts_with(":1."))
        .find(|name| {
            call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                &[name],
            )
            .is_ok_and(|out| out.contains(&format!("uint32 {pid},")))
                && gdbus(&[
                    "introspect",
                    "--session",
                    "--dest",
                    name,
                    "--object-path",
                    MENU_PATH,
                ])
                .is_ok_and(|out| out.contains("com.canonical.dbusmenu"))
        })
        .map(str::to_owned)
}

/// Every item of the menu, submenus flattened, in order (separators left out).
pub fn menu(bus: &str) -> Vec<Item> {
    let layout = call(
        bus,
        MENU_PATH,
        "com.canonical.dbusmenu.GetLayout",
        &["0", "--", "-1", "[]"],
    )
    .unwrap_or_default();
    parse_layout(&layout)
}

/// Reads gdbus's text form of `(ia{sv}av)` items: `<(7, {'label': <'Quit'>, …}, …)>`.
fn parse_layout(text: &str) -> Vec<Item> {
    text.split("<(")
        .skip(1)
        .filter_map(|chunk| {
            let id: i32 = chunk.split(',').next()?.trim().parse().ok()?;
            let props = &chunk[..chunk.find('}')?];
            let label = props
                .split("'label': <'")
                .nth(1)
                .and_then(|rest| rest.split("'>").next())?
                .to_owned();
            let checked = props
                .split("'toggle-state': <")
                .nth(1)
                .map(|rest| rest.starts_with('1'));
            Some(Item {
                id,
                label,
                enabled: !props.contains("'enabled': <false>"),
                checked,
            })
        })
        .collect()
}

pub fn click(bus: &str, id: i32) {
    call(
        bus,
        MENU_PATH,
        "com.canonical.dbusmenu.Event",
        &[&id.to_string(), "clicked", "<int32 0>", "0"],
    )
    .expect("the menu takes the click");
}

/// Polls the menu until an item satisfies `pred`.
pub fn wait_for_item(bus: &str, what: &str, pred: impl Fn(&Item) -> bool) -> Item {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let items = menu(bus);
        if let Some(item) = items.iter().find(|i| pred(i)) {
            return item.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no menu item {what} in {items:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn click_label(bus: &str, prefix: &str) {
    let item = wait_for_item(bus, prefix, |i| i.label.starts_with(prefix) && i.enabled);
    click(bus, item.id);
}

/// Titles of the top-level X windows (xwininfo), to see whether the app opened one.
pub fn window_titles() -> Vec<String> {
    let out = Command::new("xwininfo")
        .args(["-root", "-tree"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gdbus_layouts() {
        let text = "(uint32 2, (0, {'children-display': <'submenu'>}, [<(2, {'enabled': <false>, 'label': <'NineRouter is running · http://127.0.0.1:1'>}, @av [])>, <(3, {'type': <'separator'>}, @av [])>, <(12, {'toggle-state': <1>, 'toggle-type': <'checkmark'>, 'label': <'Start at Login'>}, @av [])>]))";
        assert_eq!(
            parse_layout(text),
            [
                Item {
                    id: 2,
                    label: "NineRouter is running · http://127.0.0.1:1".into(),
                    enabled: false,
                    checked: None
                },
                Item {
                    id: 12,
                    label: "Start at Login".into(),
                    enabled: true,
                    checked: Some(true)
                },
            ]
        );
    }
}
