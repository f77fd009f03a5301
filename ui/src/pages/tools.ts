// What the Tools page says of a tool, and the input it sends (empty fields left to the router).

import type { ImportItem, ToolInput, ToolStatus } from "../api/generated";

export function stateText(t: ToolStatus): string {
  switch (t.state) {
    case "configured":
      return "Uses NineRouter";
    case "elsewhere":
      return `Points at ${t.baseUrl ?? "another address"}`;
    case "drifted":
      return "Changed since NineRouter set it up";
    case "not-configured":
      return "Installed, not set up";
    case "not-installed":
      return "Not installed";
    case "unreadable":
      return `Its config cannot be read: ${t.error ?? ""}`;
  }
}

export function toolInput(url: string, key: string, model: string): ToolInput {
  const input: ToolInput = {};
  if (url.trim()) input.url = url.trim();
  if (key.trim()) input.key = key.trim();
  if (model.trim()) input.model = model.trim();
  return input;
}

const ACTIONS: Record<ImportItem["action"], [string, string]> = {
  create: ["will be created", "created"],
  present: ["already here", "already here"],
  skip: ["skipped", "skipped"],
  conflict: ["name taken here, left alone", "name taken here, left alone"],
};

/** What happens (or happened) to one item of an import. */
export function itemText(item: ImportItem, applied: boolean): string {
  const [will, did] = ACTIONS[item.action];
  const what = applied ? did : will;
  return item.reason ? `${what}: ${item.reason}` : what;
}

export function counts(items: ImportItem[]): Record<ImportItem["action"], number> {
  const c = { create: 0, present: 0, skip: 0, conflict: 0 };
  for (const i of items) c[i.action] += 1;
  return c;
}
