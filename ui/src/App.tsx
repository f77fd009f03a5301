import { useEffect, useState } from "react";
import { needsLogin } from "./api/client";
import { useEngineEvents } from "./api/events";
import { useQuota, useStatus } from "./api/hooks";
import { AdminLogin } from "./components/AdminLogin";
import { CombosPage } from "./pages/Combos";
import { EndpointPage } from "./pages/Endpoint";
import { InspectorPage } from "./pages/Inspector";
import { ModelsPage } from "./pages/Models";
import { ProvidersPage } from "./pages/Providers";
import { QuotaPage, warnedAccounts } from "./pages/Quota";
import { SettingsPage } from "./pages/Settings";
import { UsagePage } from "./pages/Usage";

const PAGES = [
  { id: "endpoint", title: "Endpoint", Page: EndpointPage },
  { id: "providers", title: "Providers", Page: ProvidersPage },
  { id: "combos", title: "Combos", Page: CombosPage },
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
      <main>{needsLogin(status.error) ? <AdminLogin /> : <Page />}</main>
    </div>
  );
}
