import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { saveKey } from "../api/client";

/** Asked for when the API answers 401: the router listens beyond this machine. */
export function KeyPrompt() {
  const client = useQueryClient();
  const [key, setKey] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    saveKey(key.trim());
    void client.invalidateQueries();
  };
  return (
    <section className="card notice" role="alert">
      <h2>A proxy key is needed</h2>
      <p>
        This router listens beyond its own machine, so its dashboard asks for one of its proxy keys
        (create one on the router's machine, or list one in its config file under{" "}
        <code>[server] api_keys</code>). It is kept for this browser session only.
      </p>
      <form className="row" onSubmit={submit}>
        <input aria-label="Proxy key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} required />
        <button type="submit">Use key</button>
      </form>
    </section>
  );
}
