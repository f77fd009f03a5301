import { useMemo, useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useUsageSeries, useUsageSummary, type UsageRange } from "../api/hooks";
import type { GroupBy, UsagePoint } from "../api/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { chartRows, count, dollars, groupLabel } from "./usage";

const RANGES = [
  { id: "24h", label: "Last 24 hours", ms: 86_400_000, bucket: "hour" },
  { id: "7d", label: "Last 7 days", ms: 7 * 86_400_000, bucket: "day" },
  { id: "30d", label: "Last 30 days", ms: 30 * 86_400_000, bucket: "day" },
] as const;
const GROUPS: GroupBy[] = ["provider", "model", "account", "key", "combo"];
const COLORS = ["#4c6ef5", "#12b886", "#fab005", "#fa5252", "#7950f2", "#15aabf", "#fd7e14", "#82c91e"];

export function UsagePage() {
  const [rangeId, setRangeId] = useState<(typeof RANGES)[number]["id"]>("24h");
  const [by, setBy] = useState<GroupBy>("provider");
  const range: UsageRange = useMemo(() => {
    const r = RANGES.find((x) => x.id === rangeId) ?? RANGES[0];
    // Rounded to the minute, so that the query key (and the cache) stays put between renders.
    const to = Math.ceil(Date.now() / 60_000) * 60_000;
    return { from: to - r.ms, to, bucket: r.bucket, by };
  }, [rangeId, by]);
  const summary = useUsageSummary(range);
  const series = useUsageSeries(range);
  const total = summary.data?.total;
  return (
    <>
      <h1>Usage</h1>
      <div className="row filters">
        <select aria-label="Range" value={rangeId} onChange={(e) => setRangeId(e.target.value as typeof rangeId)}>
          {RANGES.map((r) => (
            <option key={r.id} value={r.id}>
              {r.label}
            </option>
          ))}
        </select>
        <label>
          by{" "}
          <select aria-label="Group by" value={by} onChange={(e) => setBy(e.target.value as GroupBy)}>
            {GROUPS.map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={summary.error ?? series.error} />
      {total && total.requests === 0 ? (
        <EmptyState title="No requests in this range">Send requests through the router, or choose a longer range.</EmptyState>
      ) : (
        total && (
          <>
            <div className="stats" data-testid="usage-totals">
              <Stat label="Requests" value={count(total.requests)} />
              <Stat label="Errors" value={count(total.errors)} />
              <Stat label="Input tokens" value={count(total.inputTokens + total.cachedTokens + total.cacheWriteTokens)} />
              <Stat label="Output tokens" value={count(total.outputTokens)} />
              <Stat label="Cost" value={dollars(total.cost)} />
              <Stat label="Saved vs API prices" value={dollars(total.saved)} />
            </div>
            <Chart title="Requests" points={series.data ?? []} value={(p) => p.requests} bucket={range.bucket} />
            <Chart title="Tokens (input + output)" points={series.data ?? []} value={(p) => p.inputTokens + p.cachedTokens + p.cacheWriteTokens + p.outputTokens} bucket={range.bucket} />
            <Chart title="Cost and saved (USD)" points={series.data ?? []} value={(p) => p.cost + p.saved} bucket={range.bucket} />
            <table data-testid="usage-groups">
              <thead>
                <tr>
                  <th>{by}</th>
                  <th>Requests</th>
                  <th>Errors</th>
                  <th title="Refused by the proxy key's limits: rate, tokens, daily cost, model or expiry">Limited</th>
                  <th>Tokens in / out</th>
                  <th title="Prompt tokens read from and written to the provider's prompt cache">Cache read / write</th>
                  <th>Cost</th>
                  <th>Saved</th>
                  <th>Latency / TTFT</th>
                </tr>
              </thead>
              <tbody>
                {summary.data?.groups.map((g) => (
                  <tr key={g.key}>
                    <td title={g.key}>{groupLabel(g)}</td>
                    <td>{count(g.requests)}</td>
                    <td>{count(g.errors)}</td>
                    <td>{count(g.limited)}</td>
                    <td>
                      {count(g.inputTokens + g.cachedTokens + g.cacheWriteTokens)} / {count(g.outputTokens)}
                    </td>
                    <td>
                      {count(g.cachedTokens)} / {count(g.cacheWriteTokens)}
                    </td>
                    <td>{dollars(g.cost)}</td>
                    <td>{dollars(g.saved)}</td>
                    <td>
                      {Math.round(g.avgLatencyMs)} / {g.avgTtftMs === null ? "–" : Math.round(g.avgTtftMs)} ms
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
      )}
    </>
  );
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="stat">
      <span className="muted">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}

function Chart({ title, points, value, bucket }: { title: string; points: UsagePoint[]; value: (p: UsagePoint) => number; bucket: "hour" | "day" }) {
  const { rows, groups } = useMemo(() => chartRows(points, value), [points, value]);
  const label = (ms: number) =>
    bucket === "hour" ? new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : new Date(ms).toLocaleDateString();
  return (
    <section className="card chart" aria-label={title}>
      <h2>{title}</h2>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="start" tickFormatter={label} fontSize={11} />
          <YAxis fontSize={11} width={50} />
          <Tooltip labelFormatter={(v) => label(Number(v))} />
          <Legend />
          {groups.map((g, i) => (
            <Bar key={g} dataKey={g} stackId="all" fill={COLORS[i % COLORS.length] ?? "#4c6ef5"} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </section>
  );
}
