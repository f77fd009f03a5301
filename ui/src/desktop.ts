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
