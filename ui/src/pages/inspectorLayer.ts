import type { Layer } from "../api/types";

/** The line above a layer's headers: where it went or what came back, its size, and whether
 *  its body was cut at the size limit or not kept at all (the inspector keeps the bodies of a
 *  limited number of requests a second). */
export function layerNote(meta: Pick<Layer, "url" | "status" | "bytes" | "truncated" | "skipped">): string {
  const head = [meta.url, meta.status].filter((v) => v !== undefined && v !== null).join(" ");
  if (meta.skipped) {
    return `${head} · body not kept: more requests came that second than the inspector keeps bodies of (Settings → Recording)`;
  }
  return `${head} · ${meta.bytes} bytes${meta.truncated ? " (cut at the size limit)" : ""}`;
}
