import { useEffect, useRef, type ReactNode } from "react";

/** A side panel over the page; Esc or the close button closes it, focus moves into it. */
export function Drawer({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    document.addEventListener("keydown", onKey);
    panel.current?.focus();
    return () => document.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <aside className="drawer" role="dialog" aria-modal="true" aria-label={title} tabIndex={-1} ref={panel}>
      <header>
        <h2>{title}</h2>
        <button type="button" className="secondary" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </header>
      <div className="drawer-body">{children}</div>
    </aside>
  );
}
