// Light, dark or the system's choice; kept in this browser (or window).

export type Theme = "system" | "light" | "dark";
const KEY = "ninerouter.theme";

export function savedTheme(): Theme {
  const t = globalThis.localStorage?.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === "system") {
    delete root.dataset.theme;
    globalThis.localStorage?.removeItem(KEY);
  } else {
    root.dataset.theme = theme;
    globalThis.localStorage?.setItem(KEY, theme);
  }
}
