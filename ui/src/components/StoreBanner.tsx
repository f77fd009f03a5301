import type { StoreView } from "../api/generated";

/** Says so while a shared store is out of reach: this host keeps routing with what it has. */
export function StoreBanner({ store }: { store: StoreView }) {
  if (store.reachable) return null;
  return (
    <div className="card error" role="status" data-testid="store-banner">
      The shared PostgreSQL store is out of reach. This host keeps routing with the last configuration it read;
      {store.waiting > 0 ? ` ${store.waiting} usage records wait to be saved.` : " usage waits to be saved."} Changes made
      here now may not be saved.
    </div>
  );
}
