import { type ReactNode, useEffect, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api, send } from "../api/client";
import { invalidateAccounts } from "../api/hooks";
import type { LoginAnswer } from "../api/generated";
import type { LoginMethod, LoginStart, LoginStatus } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { ErrorNote } from "../components/ErrorNote";
import { isDesktop, openExternal, openLoginWindow } from "../desktop";
import { useNow } from "../useNow";
import { timeLeft } from "./countdown";

/** How often the page asks whether the user has approved. */
const POLL_MS = 1000;

/**
 * A subscription login. Device code (Copilot, Qwen): shows the code to enter on the provider's
 * page, opens that page, and waits for the engine to finish. Authorization code (Claude, Codex):
 * opens the approval page; the engine catches the redirect where it can, and the code or the
 * address the browser lands on can always be pasted. With `accountId`, renews that account's
 * login in place.
 */
export function ProviderLogin({
  provider,
  label,
  accountId,
  methods = [],
}: {
  provider: string;
  label: string;
  accountId?: string | undefined;
  methods?: LoginMethod[] | undefined;
}) {
  const client = useQueryClient();
  const now = useNow();
  const [started, setStarted] = useState<LoginStart | null>(null);
  const [status, setStatus] = useState<LoginStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Kiro: AWS Builder ID, or an IAM Identity Center organization (its start URL and region).
  const [organization, setOrganization] = useState({ startUrl: "", region: "" });
  const path = (id: string) => `/oauth/${encodeURIComponent(provider)}/${encodeURIComponent(id)}`;

  const start = async (method?: string) => {
    setError(null);
    setStatus(null);
    setBusy(true);
    try {
      const body: Record<string, string> = accountId ? { accountId } : {};
      if (method) body.method = method;
      const byDefault = !method || method === methods[0]?.id;
      if (byDefault && organization.startUrl.trim()) {
        body.startUrl = organization.startUrl.trim();
        if (organization.region.trim()) body.region = organization.region.trim();
      }
      const s = await send<LoginStart>("POST", `/oauth/${encodeURIComponent(provider)}/start`, body);
      setStarted(s);
      const expiresAtMs = Date.now() + s.expiresInSecs * 1000;
      if (s.kind === "device") {
        setStatus({ status: "waiting", userCode: s.userCode, verificationUri: s.verificationUri, expiresAtMs });
      } else {
        setStatus({ status: "awaiting-code", authorizeUrl: s.authorizeUrl, expiresAtMs, listening: s.listening, webview: s.webview, ...(s.notice ? { notice: s.notice } : {}) });
        if (s.webview && isDesktop()) {
          void openLoginWindow({ provider: s.provider, loginId: s.loginId, authorizeUrl: s.authorizeUrl, redirectUri: s.redirectUri });
        } else {
          void openExternal(s.authorizeUrl);
        }
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  // Device codes are polled; so are authorization codes whose redirect the engine (or the
  // desktop app's login window) catches.
  const waiting =
    started !== null && (status?.status === "waiting" || (status?.status === "awaiting-code" && (status.listening || (status.webview && isDesktop()))));
  useEffect(() => {
    if (!waiting || !started) return;
    const timer = setInterval(() => {
      api<{ login: LoginStatus }>(path(started.loginId))
        .then((r) => {
          setStatus(r.login);
          if (r.login.status === "done") {
            invalidateAccounts(client);
          }
        })
        .catch(setError);
    }, POLL_MS);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [waiting, started]);

  const cancel = async () => {
    if (started) await send<void>("DELETE", path(started.loginId)).catch(setError);
    setStatus({ status: "cancelled" });
  };

  const submit = async (code: string) => {
    if (!started) return;
    setError(null);
    try {
      const r = await send<LoginAnswer>("POST", `${path(started.loginId)}/complete`, { code });
      setStatus(r.login);
      if (r.login.status === "done") {
        invalidateAccounts(client);
      }
    } catch (e) {
      setError(e);
    }
  };

  const again = accountId ? "Log in again" : `Log in to ${label}`;
  if (status?.status === "awaiting-code") {
    return (
      <div className="login" data-testid={`login-${provider}`}>
        <p>
          Approve the login on{" "}
          <ExternalLink href={status.authorizeUrl}>the {label} page</ExternalLink>
          {status.listening
            ? ". NineRouter finishes the login when the browser comes back; if the browser cannot reach it, paste the address the browser lands on."
            : ", then paste the code it shows (or the address the browser lands on)."}{" "}
          It expires in {timeLeft(status.expiresAtMs, now)}.
        </p>
        {status.notice && <p className="notice">{status.notice}</p>}
        {status.listening && (
          <p className="muted" role="status">
            Waiting for the browser…
          </p>
        )}
        <PasteCode onSubmit={(code) => void submit(code)} />
        <ErrorNote error={error} />
        <button type="button" className="secondary" onClick={() => void cancel()}>
          Cancel
        </button>
      </div>
    );
  }
  if (status?.status === "waiting") {
    return (
      <div className="login" data-testid={`login-${provider}`}>
        <p>
          Enter <code className="user-code">{status.userCode}</code> <CopyButton text={status.userCode} label="Copy code" /> at{" "}
          <ExternalLink href={status.verificationUri}>{status.verificationUri}</ExternalLink>
          .
        </p>
        <p className="muted" role="status">
          Waiting for you to approve… the code expires in {timeLeft(status.expiresAtMs, now)}.{" "}
          <button type="button" className="secondary" onClick={() => void cancel()}>
            Cancel
          </button>
        </p>
      </div>
    );
  }
  return (
    <div className="login" data-testid={`login-${provider}`}>
      {status?.status === "done" && <p role="status">Logged in as {status.name}.</p>}
      {status?.status === "failed" && <ErrorNote error={status.message} />}
      {status?.status === "cancelled" && <p className="muted">Login cancelled.</p>}
      <ErrorNote error={error} />
      {provider === "kiro" && !accountId && <Organization value={organization} onChange={setOrganization} />}
      {methods.length > 1 ? (
        <div className="row">
          {methods.map((m) => (
            <button key={m.id} type="button" className={accountId ? "secondary" : undefined} disabled={busy} onClick={() => void start(m.id)}>
              {busy ? "Starting…" : `${again} with ${m.label}`}
            </button>
          ))}
        </div>
      ) : (
        <button type="button" className={accountId ? "secondary" : undefined} disabled={busy} onClick={() => void start()}>
          {busy ? "Starting…" : again}
        </button>
      )}
    </div>
  );
}

/** Kiro's IAM Identity Center sign-in: left empty, the login uses AWS Builder ID. */
function Organization({ value, onChange }: { value: { startUrl: string; region: string }; onChange: (v: { startUrl: string; region: string }) => void }) {
  return (
    <details>
      <summary>Sign in with IAM Identity Center instead of AWS Builder ID</summary>
      <div className="row">
        <label className="field">
          Start URL
          <input value={value.startUrl} onChange={(e) => onChange({ ...value, startUrl: e.target.value })} placeholder="https://my-org.awsapps.com/start" />
        </label>
        <label className="field">
          Region
          <input value={value.region} onChange={(e) => onChange({ ...value, region: e.target.value })} placeholder="us-east-1" />
        </label>
      </div>
    </details>
  );
}

function PasteCode({ onSubmit }: { onSubmit: (code: string) => void }) {
  const [code, setCode] = useState("");
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        if (code.trim()) onSubmit(code.trim());
      }}
    >
      <label className="field">
        Code
        <input value={code} onChange={(e) => setCode(e.target.value)} placeholder="code#state or http://localhost:…" autoComplete="off" />
      </label>
      <button type="submit" disabled={!code.trim()}>
        Finish login
      </button>
    </form>
  );
}

/** A provider's page: the system browser from the desktop window, a new tab in a browser. */
function ExternalLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a
      href={href}
      target="_blank"
      rel="noreferrer"
      onClick={(e) => {
        e.preventDefault();
        void openExternal(href);
      }}
    >
      {children}
    </a>
  );
}
