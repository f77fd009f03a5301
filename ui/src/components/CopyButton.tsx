import { useState } from "react";

/** Copies `text`; says so for a moment. */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard refused (insecure context): select-and-copy by hand still works.
    }
  };
  return (
    <button type="button" className="secondary" onClick={() => void copy()} aria-label={`${label}: ${text.slice(0, 40)}`}>
      {copied ? "Copied" : label}
    </button>
  );
}
