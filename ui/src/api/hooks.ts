// Data hooks over the API (TanStack Query: caching, refetch, invalidation on engine events).

import { keepPreviousData, type QueryClient, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, send } from "./client";
import type { AccountInput, AccountPatch, ActiveCombo, ComboInput, ComboPatch, NodeInput, Paused, PasswordSet, SecretsMoved } from "./generated";
import type {
  AccessState,
  AccountQuota,
  AdminToken,
  AuditEntry,
  CreatedAdminToken,
  ComboView,
  Account,
  CreatedKey,
  KeyInput,
  ModelView,
  ModelTested,
  Detail,
  DetailFilters,
  DetailPage,
  GroupBy,
  NodeRecord,
  Probe,
  ProviderDef,
  ProxyKey,
  Settings,
  Status,
  UsagePoint,
  UsageSummary,
} from "./types";

export const keys = {
  status: ["status"] as const,
  proxyKeys: ["keys"] as const,
  details: ["request-details"] as const,
  detail: (id: string) => ["request-detail", id] as const,
  usage: ["usage"] as const,
  quota: ["quota"] as const,
  settings: ["settings"] as const,
};

const statusQuery = { queryKey: keys.status, queryFn: () => api<Status>("/status") };
const proxyKeysQuery = { queryKey: keys.proxyKeys, queryFn: () => api<ProxyKey[]>("/keys") };
const quotaQuery = {
  queryKey: keys.quota,
  queryFn: () => api<{ accounts: AccountQuota[] }>("/quota").then((q) => q.accounts),
};

/** Asks for what the layout shows on every page (status, quota) and the first page's keys
 * before React's first render, instead of after its first commit; settles when all three
 * have answered or failed. */
export function prefetchFirstPage(client: QueryClient): Promise<unknown> {
  return Promise.all([
    client.prefetchQuery(statusQuery),
    client.prefetchQuery(quotaQuery),
    client.prefetchQuery(proxyKeysQuery),
  ]);
}

export const useStatus = () => useQuery(statusQuery);

export const useProxyKeys = () => useQuery(proxyKeysQuery);

export function useKeyMutations() {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: keys.proxyKeys });
  return {
    create: useMutation({
      mutationFn: (input: KeyInput) => send<CreatedKey>("POST", "/keys", input),
      onSuccess: refresh,
    }),
    update: useMutation({
      mutationFn: ({ id, patch }: { id: string; patch: Record<string, unknown> }) =>
        send<ProxyKey>("PATCH", `/keys/${encodeURIComponent(id)}`, patch),
      onSuccess: refresh,
    }),
    revoke: useMutation({
      mutationFn: (id: string) => send<void>("DELETE", `/keys/${encodeURIComponent(id)}`),
      onSuccess: refresh,
    }),
  };
}

export function useRequireKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (requireApiKey: boolean) => send<unknown>("PATCH", "/settings", { requireApiKey }),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.status }),
  });
}

/** The query string for the list, without empty filters; dates go as epoch milliseconds. */
export function detailQuery(filters: DetailFilters, page: number, pageSize: number): string {
  const p = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
  for (const [name, value] of Object.entries(filters)) {
    if (!value) continue;
    if (name === "from" || name === "to") {
      const ms = new Date(value).getTime();
      if (!Number.isNaN(ms)) p.set(name, String(ms));
    } else {
      p.set(name, value);
    }
  }
  return p.toString();
}

export const useRequestDetails = (filters: DetailFilters, page: number, pageSize: number) =>
  useQuery({
    queryKey: [...keys.details, filters, page, pageSize],
    queryFn: () => api<DetailPage>(`/usage/request-details?${detailQuery(filters, page, pageSize)}`),
    placeholderData: keepPreviousData,
  });

export const useRequestDetail = (id: string | null) =>
  useQuery({
    queryKey: keys.detail(id ?? ""),
    queryFn: () => api<Detail>(`/usage/request-details/${encodeURIComponent(id ?? "")}`),
    enabled: id !== null,
  });

export interface UsageRange {
  from: number;
  to: number;
  bucket: "hour" | "day";
  by: GroupBy;
}

const rangeQuery = (r: UsageRange) =>
  new URLSearchParams({ from: String(r.from), to: String(r.to), by: r.by, bucket: r.bucket }).toString();

export const useUsageSummary = (r: UsageRange) =>
  useQuery({
    queryKey: [...keys.usage, "summary", r],
    queryFn: () => api<UsageSummary>(`/usage/summary?${rangeQuery(r)}`),
    placeholderData: keepPreviousData,
  });

export const useUsageSeries = (r: UsageRange) =>
  useQuery({
    queryKey: [...keys.usage, "series", r],
    queryFn: () => api<{ points: UsagePoint[] }>(`/usage/timeseries?${rangeQuery(r)}`).then((s) => s.points),
    placeholderData: keepPreviousData,
  });

export const useQuota = () => useQuery(quotaQuery);

export function useQuotaRefresh() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (accountId: string) => send<AccountQuota>("POST", `/quota/${encodeURIComponent(accountId)}/refresh`),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.quota }),
  });
}

export const useSettings = () => useQuery({ queryKey: keys.settings, queryFn: () => api<Settings>("/settings") });

export function useSettingsPatch() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (patch: Record<string, unknown>) => send<Settings>("PATCH", "/settings", patch),
    onSuccess: (settings) => {
      client.setQueryData(keys.settings, settings);
      void client.invalidateQueries({ queryKey: keys.status });
    },
  });
}

export const useCombos = () =>
  useQuery({ queryKey: ["combos"], queryFn: () => api<ComboView[]>("/combos") });

/** Every routable model with its window, price and last test (the Models page). */
export const useModelCatalog = () =>
  useQuery({ queryKey: ["model-catalog"], queryFn: () => api<ModelView[]>("/models/catalog") });

export function useModelTest() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (models: string[]) => send<ModelTested[]>("POST", "/models/test", { models }),
    onSuccess: () => client.invalidateQueries({ queryKey: ["model-catalog"] }),
  });
}

/** Every model string a combo can use: what `/v1/models` lists (combos included). */
export const useRoutableModels = () =>
  useQuery({ queryKey: ["routable-models"], queryFn: () => api<string[]>("/models") });

export function useMoveSecrets() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (to: "keychain" | "file") => send<SecretsMoved>("POST", "/secrets/move", { to }),
    onSuccess: () => client.invalidateQueries(),
  });
}

export const useAccessState = () =>
  useQuery({ queryKey: ["access"], queryFn: () => api<AccessState>("/auth/state") });

export const useAdminTokens = () =>
  useQuery({ queryKey: ["admin-tokens"], queryFn: () => api<AdminToken[]>("/admin/tokens") });

export const useAudit = () =>
  useQuery({ queryKey: ["audit"], queryFn: () => api<AuditEntry[]>("/audit?limit=100") });

export function useAccessMutations() {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries();
  return {
    login: useMutation({
      mutationFn: (password: string) => send<void>("POST", "/auth/login", { password }),
      onSuccess: refresh,
    }),
    logout: useMutation({ mutationFn: () => send<void>("POST", "/auth/logout"), onSuccess: refresh }),
    setPassword: useMutation({
      mutationFn: (password: string) => send<PasswordSet>("PUT", "/admin/password", { password }),
      onSuccess: refresh,
    }),
    removePassword: useMutation({ mutationFn: () => send<void>("DELETE", "/admin/password"), onSuccess: refresh }),
    createToken: useMutation({
      mutationFn: (name: string) => send<CreatedAdminToken>("POST", "/admin/tokens", { name }),
      onSuccess: () => client.invalidateQueries({ queryKey: ["admin-tokens"] }),
    }),
    deleteToken: useMutation({
      mutationFn: (id: string) => send<void>("DELETE", `/admin/tokens/${encodeURIComponent(id)}`),
      onSuccess: () => client.invalidateQueries({ queryKey: ["admin-tokens"] }),
    }),
  };
}

export function useComboMutations() {
  const client = useQueryClient();
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["combos"] });
    void client.invalidateQueries({ queryKey: ["routable-models"] });
  };
  const path = (name: string) => `/combos/${encodeURIComponent(name)}`;
  return {
    create: useMutation({
      mutationFn: (c: ComboInput) => send<ComboView>("POST", "/combos", c),
      onSuccess: refresh,
    }),
    update: useMutation({
      mutationFn: ({ name, patch }: { name: string; patch: ComboPatch }) =>
        send<ComboView>("PATCH", path(name), patch),
      onSuccess: refresh,
    }),
    remove: useMutation({ mutationFn: (name: string) => send<void>("DELETE", path(name)), onSuccess: refresh }),
  };
}

export const useProviders = () =>
  useQuery({
    queryKey: ["providers"],
    queryFn: () => api<{ providers: ProviderDef[]; nodes: NodeRecord[] }>("/providers"),
  });

export const useConnections = () =>
  useQuery({ queryKey: ["connections"], queryFn: () => api<Account[]>("/connections") });

/** A new account's fields, as `POST /api/connections` takes them. */
export type NewConnection = AccountInput;

/** After accounts change (added, edited, logged in): everything that lists or counts them. */
export function invalidateAccounts(client: QueryClient): void {
  for (const k of [["connections"], ["providers"], ["routable-models"], keys.quota]) void client.invalidateQueries({ queryKey: k });
}

export function useConnectionMutations() {
  const client = useQueryClient();
  const refresh = () => invalidateAccounts(client);
  const path = (id: string) => `/connections/${encodeURIComponent(id)}`;
  return {
    create: useMutation({ mutationFn: (c: NewConnection) => send<Account>("POST", "/connections", c), onSuccess: refresh }),
    update: useMutation({
      mutationFn: ({ id, patch }: { id: string; patch: AccountPatch }) =>
        send<Account>("PATCH", path(id), patch),
      onSuccess: refresh,
    }),
    remove: useMutation({ mutationFn: (id: string) => send<void>("DELETE", path(id)), onSuccess: refresh }),
    reset: useMutation({ mutationFn: (id: string) => send<Account>("POST", `${path(id)}/reset`), onSuccess: refresh }),
    test: useMutation({ mutationFn: (id: string) => send<Probe>("POST", `${path(id)}/test`) }),
    createNode: useMutation({
      mutationFn: (n: NodeInput) => send<NodeRecord>("POST", "/nodes", n),
      onSuccess: refresh,
    }),
  };
}

export function useRoutingSwitches() {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: keys.status });
  return {
    pause: useMutation({ mutationFn: (paused: boolean) => send<Paused>("POST", paused ? "/routing/pause" : "/routing/resume"), onSuccess: refresh }),
    activate: useMutation({ mutationFn: (name: string) => send<ActiveCombo>("PUT", "/active-combo", { name }), onSuccess: refresh }),
  };
}
