import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { prefetchFirstPage } from "./api/hooks";
import { applyTheme, savedTheme } from "./theme";
import "./styles.css";

applyTheme(savedTheme());
const client = new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 2000 } } });
prefetchFirstPage(client);
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}
