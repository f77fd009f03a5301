//! The tray icon and its menu (tray-icon and muda, the crates Tauri's tray wraps, used without
//! Tauri): applies each new menu model, in place when it can (see `menu::plan`).

use std::collections::HashMap;

use tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::menu::{Badge, Entry, MenuModel, Plan, plan};

/// The tray's id; on Linux (libayatana-appindicator through tray-icon) the menu is published
/// on the session bus at `/org/ayatana/NotificationItem/tray_icon_tray_app_<id>/Menu`.
pub const TRAY_ID: &str = "ninerouter";

#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    #[error("menu: {0}")]
    Menu(#[from] tray_icon::menu::Error),
    #[error("tray icon: {0}")]
    Icon(#[from] tray_icon::Error),
    #[error("icon image: {0}")]
    BadIcon(#[from] tray_icon::BadIcon),
    #[error("icon image: {0}")]
    Png(#[from] png::DecodingError),
    #[error("icon image: not 8-bit RGBA")]
    NotRgba,
}

/// The icon and the menu it shows. Lives on the event loop's thread, where the platform wants
/// menus made and changed; the shell sends it each new model.
pub struct Tray {
    icon: TrayIcon,
    model: Option<MenuModel>,
    items: Items,
    /// A click toggles a check item's mark by itself; until the next update re-asserts the
    /// model's marks, what is on screen may differ from the model.
    marks_unsure: bool,
}

impl Tray {
    pub fn create() -> Result<Self, TrayError> {
        let icon = TrayIconBuilder::new()
            .with_id(TRAY_ID)
            .with_icon(badge_icon(Badge::Running)?)
            .with_icon_as_template(cfg!(target_os = "macos"))
            .with_tooltip("NineRouter")
            .with_menu_on_left_click(true)
            .build()?;
        Ok(Self {
            icon,
            model: None,
            items: Items::new(),
            marks_unsure: false,
        })
    }

    pub fn clicked(&mut self) {
        self.marks_unsure = true;
    }

    pub fn apply(&mut self, model: MenuModel) -> Result<(), TrayError> {
        let marks_unsure = std::mem::take(&mut self.marks_unsure);
        let (badge_changed, tooltip_changed) = match &self.model {
            Some(old) => (old.badge != model.badge, old.tooltip != model.tooltip),
            None => (true, true),
        };
        let plan = plan(self.model.as_ref(), &model);
        let plan_kept_items = plan != Plan::Rebuild;
        tracing::debug!(?plan, "tray menu update");
        match plan {
            Plan::Rebuild => {
                let (menu, items) = build_menu(&model.entries)?;
                self.icon.set_menu(Some(Box::new(menu)));
                self.items = items;
            }
            Plan::Update(changed) => {
                for entry in changed {
                    update_item(&self.items, entry);
                }
            }
            Plan::Unchanged => {}
        }
        // A rebuilt menu shows the model's marks already; otherwise a click may have moved one.
        if marks_unsure && plan_kept_items {
            reassert_marks(&self.items, &model.entries);
        }
        if badge_changed {
            self.icon.set_icon(Some(badge_icon(model.badge)?))?;
            self.icon
                .set_icon_as_template(cfg!(target_os = "macos") && model.badge == Badge::Running);
        }
        if tooltip_changed {
            self.icon.set_tooltip(Some(&model.tooltip))?;
        }
        self.model = Some(model);
        Ok(())
    }
}

/// The running icon is a template on macOS (the menu bar tints it); paused and error carry a
/// coloured badge.
fn badge_icon(badge: Badge) -> Result<Icon, TrayError> {
    let bytes: &'static [u8] = match badge {
        Badge::Running if cfg!(target_os = "macos") => {
            include_bytes!("../../icons/tray/template.png")
        }
        Badge::Running => include_bytes!("../../icons/tray/running.png"),
        Badge::Paused => include_bytes!("../../icons/tray/paused.png"),
        Badge::Error => include_bytes!("../../icons/tray/error.png"),
    };
    let (rgba, width, height) = decode_rgba(bytes)?;
    Ok(Icon::from_rgba(rgba, width, height)?)
}

/// A PNG's pixels as 8-bit RGBA.
fn decode_rgba(png_bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), TrayError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let mut pixels = vec![0; reader.output_buffer_size().ok_or(TrayError::NotRgba)?];
    let frame = reader.next_frame(&mut pixels)?;
    if frame.color_type != png::ColorType::Rgba || frame.bit_depth != png::BitDepth::Eight {
        return Err(TrayError::NotRgba);
    }
    pixels.truncate(frame.buffer_size());
    Ok((pixels, frame.width, frame.height))
}

type Items = HashMap<String, MenuItemKind>;

fn build_menu(entries: &[Entry]) -> Result<(Menu, Items), TrayError> {
    let menu = Menu::new();
    let mut items = HashMap::new();
    for entry in entries {
        let kind = build_item(entry, &mut items)?;
        menu.append(kind.as_ref())?;
    }
    Ok((menu, items))
}

/// A built item, kept by id so later models can update it in place.
fn build_item(entry: &Entry, items: &mut Items) -> Result<Box<dyn IsMenuItem>, TrayError> {
    let built: Box<dyn IsMenuItem> = match entry {
        Entry::Item { id, text, enabled } => {
            let item = MenuItem::with_id(id.as_str(), text, *enabled, None);
            items.insert(id.clone(), MenuItemKind::MenuItem(item.clone()));
            Box::new(item)
        }
        Entry::Check {
            id,
            text,
            checked,
            enabled,
        } => {
            let item = CheckMenuItem::with_id(id.as_str(), text, *enabled, *checked, None);
            items.insert(id.clone(), MenuItemKind::Check(item.clone()));
            Box::new(item)
        }
        Entry::Submenu { id, text, children } => {
            let sub = Submenu::with_id(id.as_str(), text, true);
            for child in children {
                let built = build_item(child, items)?;
                sub.append(built.as_ref())?;
            }
            items.insert(id.clone(), MenuItemKind::Submenu(sub.clone()));
            Box::new(sub)
        }
        Entry::Separator => Box::new(PredefinedMenuItem::separator()),
    };
    Ok(built)
}

fn update_item(items: &Items, entry: &Entry) {
    let Some(item) = entry.id().and_then(|id| items.get(id)) else {
        return;
    };
    match (item, entry) {
        (MenuItemKind::MenuItem(i), Entry::Item { text, enabled, .. }) => {
            i.set_text(text);
            i.set_enabled(*enabled);
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
            i.set_text(text);
            i.set_checked(*checked);
            i.set_enabled(*enabled);
        }
        (MenuItemKind::Submenu(s), Entry::Submenu { text, .. }) => s.set_text(text),
        _ => {}
    }
}

fn reassert_marks(items: &Items, entries: &[Entry]) {
    for entry in entries {
        match entry {
            Entry::Check { id, checked, .. } => {
                if let Some(MenuItemKind::Check(i)) = items.get(id) {
                    i.set_checked(*checked);
                }
            }
            Entry::Submenu { children, .. } => reassert_marks(items, children),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_badge_decodes_to_a_square_rgba_icon() {
        for bytes in [
            &include_bytes!("../../icons/tray/template.png")[..],
            include_bytes!("../../icons/tray/running.png"),
            include_bytes!("../../icons/tray/paused.png"),
            include_bytes!("../../icons/tray/error.png"),
        ] {
            let (rgba, width, height) = decode_rgba(bytes).expect("decodes");
            assert_eq!((width, height), (64, 64));
            assert_eq!(rgba.len(), 64 * 64 * 4);
        }
        assert!(decode_rgba(b"not a png").is_err());
    }
}
