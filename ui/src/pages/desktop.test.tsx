import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { StartAtLogin } from "./Desktop";

afterEach(() => {
  cleanup();
  delete (globalThis as { __TAURI__?: unknown }).__TAURI__;
});

describe("StartAtLogin", () => {
  it("is not offered in a browser", () => {
    const { container } = render(<StartAtLogin />);
    expect(container.textContent).toBe("");
  });

  it("reads and toggles the autostart plugin inside the desktop window", async () => {
    const invoke = vi.fn(async (cmd: string) => (cmd === "plugin:autostart|is_enabled" ? false : undefined));
    (globalThis as { __TAURI__?: unknown }).__TAURI__ = { core: { invoke } };
    render(<StartAtLogin />);
    const box = await screen.findByRole("checkbox");
    await waitFor(() => expect((box as HTMLInputElement).disabled).toBe(false));
    fireEvent.click(box);
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("plugin:autostart|enable", undefined));
    await waitFor(() => expect((box as HTMLInputElement).checked).toBe(true));
  });
});
