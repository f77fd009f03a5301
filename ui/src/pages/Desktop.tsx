import { useEffect, useState } from "react";
import { invoke, isDesktop } from "../desktop";

/** Start at login: only inside the desktop window (tauri-plugin-autostart's commands). */
export function StartAtLogin() {
  const [enabled, setEnabled] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!isDesktop()) return;
    invoke("plugin:autostart|is_enabled")
      .then((v) => setEnabled(v === true))
      .catch((e: unknown) => setError(String(e)));
  }, []);
  if (!isDesktop()) return null;
  const toggle = async (on: boolean) => {
    try {
      await invoke(on ? "plugin:autostart|enable" : "plugin:autostart|disable");
      setEnabled(on);
    } catch (e) {
      setError(String(e));
    }
  };
  return (
    <section className="card">
      <h2>Desktop</h2>
      <label className="field">
        <input type="checkbox" checked={enabled ?? false} disabled={enabled === null} onChange={(e) => void toggle(e.target.checked)} />
        Start NineRouter at login
      </label>
      {error && <p className="error">{error}</p>}
    </section>
  );
}
