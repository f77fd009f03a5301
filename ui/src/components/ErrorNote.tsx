import { ApiError } from "../api/client";

/** The server's own message, and the field it names. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const field = error instanceof ApiError && error.field ? ` (${error.field})` : "";
  return (
    <p role="alert" className="error">
      {message}
      {field}
    </p>
  );
}
