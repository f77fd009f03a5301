import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Drawer } from "./Drawer";
import { ErrorNote } from "./ErrorNote";
import { JsonView } from "./JsonView";
import { StoreBanner } from "./StoreBanner";
import { ApiError } from "../api/client";

afterEach(cleanup);

describe("JsonView", () => {
  it("colours keys, strings, numbers and literals", () => {
    const { container } = render(<JsonView value={{ model: "gpt-4o", n: 2, stream: true, stop: null }} />);
    const kinds = (k: string) => [...container.querySelectorAll(`.json-${k}`)].map((e) => e.textContent);
    expect(kinds("key")).toEqual(['"model"', '"n"', '"stream"', '"stop"']);
    expect(kinds("string")).toEqual(['"gpt-4o"']);
    expect(kinds("number")).toEqual(["2"]);
    expect(kinds("literal")).toEqual(["true", "null"]);
    expect(container.textContent).toBe(JSON.stringify({ model: "gpt-4o", n: 2, stream: true, stop: null }, null, 2));
  });
});

describe("Drawer", () => {
  it("closes on Escape and on its button, and takes focus", () => {
    const onClose = vi.fn();
    render(
      <Drawer title="Request 1" onClose={onClose}>
        body
      </Drawer>,
    );
    expect(document.activeElement).toBe(screen.getByRole("dialog"));
    fireEvent.keyDown(document, { key: "Escape" });
    fireEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(onClose).toHaveBeenCalledTimes(2);
  });
});

describe("ErrorNote", () => {
  it("shows the server's message and the field it names", () => {
    render(<ErrorNote error={new ApiError(400, "must not be empty", "validation_error", "name")} />);
    expect(screen.getByRole("alert").textContent).toBe("must not be empty (name)");
  });
});

describe("StoreBanner", () => {
  it("says nothing while the store answers, and how much waits when it does not", () => {
    const { container, rerender } = render(<StoreBanner store={{ kind: "postgres", reachable: true, waiting: 0 }} />);
    expect(container.textContent).toBe("");
    rerender(<StoreBanner store={{ kind: "postgres", reachable: false, waiting: 42 }} />);
    expect(screen.getByTestId("store-banner").textContent).toContain("42 usage records wait");
  });
});
