import { lazy, Suspense, useEffect, useState } from "react";
import { needsLogin } from "./api/client";
import { useEngineEvents } from "./api/events";
import { useQuota, useStatus } from "./api/hooks";
import { AdminLogin } from "./components/AdminLogin";
import { EndpointPage } from "./pages/Endpoint";
import { FirstRunPanel } from "./pages/FirstRun";
import { StoreBanner } from "./components/StoreBanner";
import { warnedAccounts } from "./pages/quotaWarnings";

// The first page comes with the app; the others load when first opened (the charts alone
// weigh more than the rest of the dashboard).
const CombosPage = lazy(() => import("./pages/Combos").then((m) => ({ default: m.CombosPage })));
const InspectorPage = lazy(() => import("./pages/Inspector").then((m) => ({ default: m.InspectorPage })));
const ModelsPage = lazy(() => import("./pages/Models").then((m) => ({ default: m.ModelsPage })));
const ProvidersPage = lazy(() => import("./pages/Providers").then((m) => ({ default: m.ProvidersPage })));
const QuotaPage = lazy(() => import("./pages/Quota").then((m) => ({ default: m.QuotaPage })));
const SettingsPage = lazy(() => import("./pages/Settings").then((m) => ({ default: m.SettingsPage })));
const UsagePage = lazy(() => import("./pages/Usage").then((m) => ({ default: m.UsagePage })));
const ToolsPage = lazy(() => import("./pages/Tools").then((m) => ({ default: m.ToolsPage })));

const PAGES = [
  { id: "endpoint", title: "Endpoint", Page: EndpointPage },
  { id: "providers", title: "Providers", Page: ProvidersPage },
  { id: "combos", title: "Combos", Page: CombosPage },
  { id: "tools", title: "Tools", Page: ToolsPage },
  { id: "models", title: "Models", Page: ModelsPage },
  { id: "usage", title: "Usage", Page: UsagePage },
  { id: "quota", title: "Quota", Page: QuotaPage },
  { id: "requests", title: "Requests", Page: InspectorPage },
  { id: "settings", title: "Settings", Page: SettingsPage },
] as const;

type PageId = (typeof PAGES)[number]["id"];

function currentPage(): PageId {
  const id = window.location.hash.replace(/^#\/?/, "");
  return PAGES.find((p) => p.id === id)?.id ?? "endpoint";
}

export function App() {
  useEngineEvents();
  const status = useStatus();
  const quota = useQuota();
  const warned = warnedAccounts(quota.data ?? []);
  const [page, setPage] = useState<PageId>(currentPage);
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  const { Page } = PAGES.find((p) => p.id === page) ?? PAGES[0];
  return (
    <div className="layout">
      <nav className="sidebar" aria-label="Pages">
        <div className="brand">NineRouter</div>
        {PAGES.map((p) => (
          <a key={p.id} href={`#/${p.id}`} aria-current={p.id === page ? "page" : undefined}>
            {p.title}
            {p.id === "quota" && warned > 0 && (
              <span className="badge warn" data-testid="quota-badge" title={`${warned} account(s) past a quota warning`}>
                {warned}
              </span>
            )}
          </a>
        ))}
      </nav>
      <main>
        {needsLogin(status.error) ? (
          <AdminLogin />
        ) : (
          <Suspense fallback={<p className="muted">Loading…</p>}>
            {status.data && <StoreBanner store={status.data.store} />}
            <FirstRunPanel />
            <Page />
          </Suspense>
        )}
      </main>
    </div>
  );
}
