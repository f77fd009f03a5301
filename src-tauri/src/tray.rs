//! The tray icon and its menu: applies each new menu model, in place when it can (see
//! `menu::plan`), and turns clicks into actions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tauri::image::Image;
use tauri::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu,
};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Wry};

use crate::menu::{Badge, Entry, MenuModel, Plan, plan};

/// The tray's id; on Linux (libayatana-appindicator through tray-icon) the menu is published
/// on the session bus at `/org/ayatana/NotificationItem/tray_icon_tray_app_<id>/Menu`.
pub const TRAY_ID: &str = "ninerouter";

pub struct Tray {
    icon: TrayIcon,
    state: Mutex<Shown>,
    /// A click toggles a check item's mark by itself; until the next update re-asserts the
    /// model's marks, what is on screen may differ from the model. An atomic, not part of
    /// `Shown`: clicks arrive on the main thread, which must never wait for `apply` (that
    /// waits for the main thread to run its menu calls).
    marks_unsure: AtomicBool,
}

#[derive(Default)]
struct Shown {
    model: Option<MenuModel>,
    items: HashMap<String, MenuItemKind<Wry>>,
}

impl Tray {
    pub fn create(
        app: &AppHandle,
        on_click: impl Fn(&AppHandle, &str) + Send + Sync + 'static,
    ) -> tauri::Result<Self> {
        let icon = TrayIconBuilder::with_id(TRAY_ID)
            .icon(badge_icon(Badge::Running)?)
            .icon_as_template(cfg!(target_os = "macos"))
            .tooltip("NineRouter")
            .show_menu_on_left_click(true)
            .on_menu_event(move |app, event| on_click(app, event.id().as_ref()))
            .build(app)?;
        Ok(Self {
            icon,
            state: Mutex::new(Shown::default()),
            marks_unsure: AtomicBool::new(false),
        })
    }

    pub fn clicked(&self) {
        self.marks_unsure.store(true, Ordering::Relaxed);
    }

    pub fn apply(&self, app: &AppHandle, model: MenuModel) -> tauri::Result<()> {
        let mut shown = self.lock();
        let marks_unsure = self.marks_unsure.swap(false, Ordering::Relaxed);
        let (badge_changed, tooltip_changed) = match &shown.model {
            Some(old) => (old.badge != model.badge, old.tooltip != model.tooltip),
            None => (true, true),
        };
        let plan = plan(shown.model.as_ref(), &model);
        let plan_kept_items = plan != Plan::Rebuild;
        tracing::debug!(?plan, "tray menu update");
        match plan {
            Plan::Rebuild => {
                let (menu, items) = build_menu(app, &model.entries)?;
                self.icon.set_menu(Some(menu))?;
                shown.items = items;
            }
            Plan::Update(changed) => {
                for entry in changed {
                    update_item(&shown.items, entry)?;
                }
            }
            Plan::Unchanged => {}
        }
        // A rebuilt menu shows the model's marks already; otherwise a click may have moved one.
        if marks_unsure && plan_kept_items {
            reassert_marks(&shown.items, &model.entries)?;
        }
        if badge_changed {
            self.icon.set_icon(Some(badge_icon(model.badge)?))?;
            self.icon
                .set_icon_as_template(cfg!(target_os = "macos") && model.badge == Badge::Running)?;
        }
        if tooltip_changed {
            self.icon.set_tooltip(Some(&model.tooltip))?;
        }
        shown.model = Some(model);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shown> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running icon is a template on macOS (the menu bar tints it); paused and error carry a
/// coloured badge.
fn badge_icon(badge: Badge) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match badge {
        Badge::Running if cfg!(target_os = "macos") => {
            include_bytes!("../../icons/tray/template.png")
        }
        Badge::Running => include_bytes!("../../icons/tray/running.png"),
        Badge::Paused => include_bytes!("../../icons/tray/paused.png"),
        Badge::Error => include_bytes!("../../icons/tray/error.png"),
    };
    Image::from_bytes(bytes)
}

type Items = HashMap<String, MenuItemKind<Wry>>;

fn build_menu(app: &AppHandle, entries: &[Entry]) -> tauri::Result<(Menu<Wry>, Items)> {
    let menu = Menu::new(app)?;
    let mut items = HashMap::new();
    for entry in entries {
        let kind = build_item(app, entry, &mut items)?;
        menu.append(kind.as_ref())?;
    }
    Ok((menu, items))
}

/// A built item, kept by id so later models can update it in place.
fn build_item(
    app: &AppHandle,
    entry: &Entry,
    items: &mut Items,
) -> tauri::Result<Box<dyn IsMenuItem<Wry>>> {
    let built: Box<dyn IsMenuItem<Wry>> = match entry {
        Entry::Item { id, text, enabled } => {
            let item = MenuItem::with_id(app, id.as_str(), text, *enabled, None::<&str>)?;
            items.insert(id.clone(), MenuItemKind::MenuItem(item.clone()));
            Box::new(item)
        }
        Entry::Check {
            id,
            text,
            checked,
            enabled,
        } => {
            let item =
                CheckMenuItem::with_id(app, id.as_str(), text, *enabled, *checked, None::<&str>)?;
            items.insert(id.clone(), MenuItemKind::Check(item.clone()));
            Box::new(item)
        }
        Entry::Submenu { id, text, children } => {
            let sub = Submenu::with_id(app, id.as_str(), text, true)?;
            for child in children {
                let built = build_item(app, child, items)?;
                sub.append(built.as_ref())?;
            }
            items.insert(id.clone(), MenuItemKind::Submenu(sub.clone()));
            Box::new(sub)
        }
        Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
    };
    Ok(built)
}

fn update_item(items: &Items, entry: &Entry) -> tauri::Result<()> {
    let Some(item) = entry.id().and_then(|id| items.get(id)) else {
        return Ok(());
    };
    match (item, entry) {
        (MenuItemKind::MenuItem(i), Entry::Item { text, enabled, .. }) => {
            i.set_text(text)?;
            i.set_enabled(*enabled)?;
        }
        (
            MenuItemKind::Check(i),
            Entry::Check {
                text,
                checked,
                enabled,
                ..
            },
        ) => {
            i.set_text(text)?;
            i.set_checked(*checked)?;
            i.set_enabled(*enabled)?;
        }
        (MenuItemKind::Submenu(s), Entry::Submenu { text, .. }) => s.set_text(text)?,
        _ => {}
    }
    Ok(())
}

fn reassert_marks(items: &Items, entries: &[Entry]) -> tauri::Result<()> {
    for entry in entries {
        match entry {
            Entry::Check { id, checked, .. } => {
                if let Some(MenuItemKind::Check(i)) = items.get(id) {
                    i.set_checked(*checked)?;
                }
            }
            Entry::Submenu { children, .. } => reassert_marks(items, children)?,
            _ => {}
        }
    }
    Ok(())
}
