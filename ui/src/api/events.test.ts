import { describe, expect, it } from "vitest";
import { eventNames } from "./events";

describe("eventNames", () => {
  it("reads whole events' names and keeps a partial one for later", () => {
    const { names, rest } = eventNames(
      'event: request-started\ndata: {"id":"a"}\n\n: keep-alive\n\nevent: request-finished\r\ndata: {}\r\n\r\nevent: quota-up',
    );
    expect(names).toEqual(["request-started", "request-finished"]);
    expect(rest).toBe("event: quota-up");
  });
});
