//! From one menu model to the next. Rebuilding a tray menu closes it if it is open (and makes
//! it flicker), so when only texts and check marks change, the existing items are updated in
//! place; the menu is rebuilt only when items come or go.

use super::model::{Entry, MenuModel};

#[derive(Debug, PartialEq, Eq)]
pub enum Plan<'a> {
    Unchanged,
    Rebuild,
    /// The entries whose text, check mark or enabled state changed.
    Update(Vec<&'a Entry>),
}

pub fn plan<'a>(old: Option<&MenuModel>, new: &'a MenuModel) -> Plan<'a> {
    let Some(old) = old else {
        return Plan::Rebuild;
    };
    let (before, after) = (flatten(&old.entries), flatten(&new.entries));
    if before.len() != after.len() || before.iter().zip(&after).any(|(a, b)| shape(a) != shape(b)) {
        return Plan::Rebuild;
    }
    let changed: Vec<&Entry> = before
        .iter()
        .zip(after)
        .filter(|(a, b)| !same_state(a, b))
        .map(|(_, b)| b)
        .collect();
    if changed.is_empty() {
        Plan::Unchanged
    } else {
        Plan::Update(changed)
    }
}

fn flatten(entries: &[Entry]) -> Vec<&Entry> {
    let mut out = Vec::new();
    for e in entries {
        out.push(e);
        if let Entry::Submenu { children, .. } = e {
            out.extend(flatten(children));
        }
    }
    out
}

/// What cannot change in place: the kind of item, its id, and a submenu's title (which
/// libdbusmenu does not re-read).
fn shape(e: &Entry) -> (u8, Option<&str>, Option<&str>) {
    match e {
        Entry::Item { .. } => (0, e.id(), None),
        Entry::Check { .. } => (1, e.id(), None),
        Entry::Submenu { text, .. } => (2, e.id(), Some(text)),
        Entry::Separator => (3, None, None),
    }
}

fn same_state(a: &Entry, b: &Entry) -> bool {
    match (a, b) {
        // Same title (see `shape`); the children are compared one by one.
        (Entry::Submenu { .. }, Entry::Submenu { .. }) => true,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::menu::model::Badge;

    fn model(entries: Vec<Entry>) -> MenuModel {
        MenuModel {
            tooltip: String::new(),
            badge: Badge::Running,
            entries,
        }
    }

    fn check(id: &str, checked: bool) -> Entry {
        Entry::Check {
            id: id.into(),
            text: id.into(),
            checked,
            enabled: true,
        }
    }

    fn combos(text: &str, children: Vec<Entry>) -> Entry {
        Entry::Submenu {
            id: "combos".into(),
            text: text.into(),
            children,
        }
    }

    #[test]
    fn a_switched_combo_updates_two_check_marks_in_place() {
        let old = model(vec![combos(
            "Active",
            vec![check("combo:a", true), check("combo:b", false)],
        )]);
        let new = model(vec![combos(
            "Active",
            vec![check("combo:a", false), check("combo:b", true)],
        )]);
        let Plan::Update(changed) = plan(Some(&old), &new) else {
            panic!("expected an in-place update");
        };
        let ids: Vec<_> = changed.iter().map(|e| e.id()).collect();
        assert_eq!(ids, [Some("combo:a"), Some("combo:b")]);
        // A new submenu title needs a new menu.
        let renamed = model(vec![combos(
            "Other",
            vec![check("combo:a", false), check("combo:b", true)],
        )]);
        assert_eq!(plan(Some(&old), &renamed), Plan::Rebuild);
    }

    #[test]
    fn identical_models_change_nothing_and_new_items_rebuild() {
        let a = model(vec![check("combo:a", true), Entry::Separator]);
        assert_eq!(plan(Some(&a), &a.clone()), Plan::Unchanged);
        let more = model(vec![
            check("combo:a", true),
            check("combo:b", false),
            Entry::Separator,
        ]);
        assert_eq!(plan(Some(&a), &more), Plan::Rebuild);
        assert_eq!(plan(None, &a), Plan::Rebuild);
        // A submenu's new child is a new item, even though the top level looks the same.
        let old = model(vec![combos("x", vec![check("combo:a", true)])]);
        let new = model(vec![combos("x", vec![check("combo:c", true)])]);
        assert_eq!(plan(Some(&old), &new), Plan::Rebuild);
    }
}
