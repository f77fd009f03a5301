import { useQuota, useQuotaRefresh } from "../api/hooks";
import type { AccountQuota, QuotaWindow } from "../api/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { useNow } from "../useNow";
import { countdown } from "./countdown";


export function QuotaPage() {
  const quota = useQuota();
  const now = useNow();
  const accounts = quota.data ?? [];
  return (
    <>
      <h1>Quota</h1>
      <ErrorNote error={quota.error} />
      {quota.isSuccess && accounts.length === 0 && (
        <EmptyState title="No accounts yet">
          Add a provider account; its limits show here once the provider reports them.
        </EmptyState>
      )}
      {accounts.map((a) => (
        <Account key={a.accountId} a={a} now={now} />
      ))}
    </>
  );
}

function Account({ a, now }: { a: AccountQuota; now: number }) {
  const refresh = useQuotaRefresh();
  const note = refresh.data?.note;
  return (
    <section className="card" data-testid={`quota-${a.accountId}`}>
      <div className="row">
        <h2>
          {a.accountName} <span className="muted" title={a.provider}>({a.providerName})</span>
        </h2>
        <button type="button" className="secondary" disabled={refresh.isPending} onClick={() => refresh.mutate(a.accountId)}>
          {refresh.isPending ? "Refreshing…" : "Refresh now"}
        </button>
      </div>
      <p className="muted">
        {a.fetchedAt === null
          ? "Not measured yet: limits appear with the provider's next answer."
          : `Updated ${Math.max(0, Math.round((now - a.fetchedAt) / 1000))} s ago from ${a.source === "api" ? "its usage endpoint" : "its answers' rate-limit headers"}.`}
      </p>
      {a.error && <p className="error">Last fetch failed: {a.error}</p>}
      {note && <p className="muted" role="status">{note}</p>}
      <ErrorNote error={refresh.error} />
      {a.windows.map((w, i) => (
        <Window key={`${w.window}-${w.metric}-${i}`} w={w} now={now} />
      ))}
    </section>
  );
}

const WINDOW_NAMES: Record<QuotaWindow["window"], string> = {
  minute: "per minute",
  "five-hour": "5 hours",
  daily: "daily",
  weekly: "weekly",
  monthly: "monthly",
  total: "total",
};

function Window({ w, now }: { w: QuotaWindow; now: number }) {
  const percent = w.percentUsed;
  const amount =
    w.limit !== null ? `${Math.round(w.used ?? 0)} of ${Math.round(w.limit)} ${w.metric}` : `${w.used ?? "–"} ${w.metric} used`;
  return (
    <div className="window">
      <span>
        {WINDOW_NAMES[w.window]} · {w.metric}
        {w.warning !== undefined && (
          <span className={`badge ${w.warning >= 95 ? "danger" : "warn"}`} data-testid="quota-warning">
            {w.warning}%+ used
          </span>
        )}
      </span>
      <div
        className="quota-bar"
        role="meter"
        aria-label={`${WINDOW_NAMES[w.window]} ${w.metric}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? 0}
      >
        <span className={(percent ?? 0) >= 90 ? "high" : undefined} style={{ width: `${percent ?? 0}%` }} />
      </div>
      <span className="muted">
        {amount} · {countdown(w.resetsAtMs, now)}
      </span>
    </div>
  );
}
