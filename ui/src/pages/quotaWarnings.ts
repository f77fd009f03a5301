import type { AccountQuota } from "../api/types";

/** How many accounts have a window past a warning threshold (the navigation's badge). */
export function warnedAccounts(accounts: AccountQuota[]): number {
  return accounts.filter((a) => a.windows.some((w) => w.warning !== undefined)).length;
}
