// Desktop-only features go through Tauri when the page runs inside the desktop window; in a
// browser these are no-ops and the page does not offer them.

interface TauriGlobal {
  core?: { invoke: (cmd: string, args?: Record<string, unknown>) => Promise<unknown> };
}

const tauri = (): TauriGlobal | undefined =>
  (globalThis as { __TAURI__?: TauriGlobal }).__TAURI__;

export const isDesktop = (): boolean => tauri()?.core !== undefined;

export async function invoke(cmd: string, args?: Record<string, unknown>): Promise<unknown> {
  const core = tauri()?.core;
  return core ? core.invoke(cmd, args) : undefined;
}

/** Opens a provider's page in the system browser (a new tab in a browser). */
export async function openExternal(url: string): Promise<void> {
  if (isDesktop()) {
    await invoke("plugin:opener|open_url", { url });
  } else {
    globalThis.open?.(url, "_blank", "noopener,noreferrer");
  }
}

/**
 * Opens a login's approval page in a window of the desktop app that catches the redirect
 * itself; elsewhere (or if that fails) the page opens like any provider page.
 */
export async function openLoginWindow(login: { provider: string; loginId: string; authorizeUrl: string; redirectUri: string }): Promise<void> {
  if (isDesktop()) {
    try {
      await invoke("open_login", login);
      return;
    } catch {
      // An older desktop app without login windows: the system browser will do.
    }
  }
  await openExternal(login.authorizeUrl);
}
