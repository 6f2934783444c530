// Validate diagrams with the real renderers: mermaid's parser and Graphviz (viz.js).
// usage: node validate_diagrams.mjs mermaid|dot FILE...   (exit 1 when any is invalid)
import { JSDOM } from "jsdom";
import { readFileSync } from "fs";

const [kind, ...files] = process.argv.slice(2);
let check;
if (kind === "mermaid") {
  const dom = new JSDOM("<!doctype html><html><body></body></html>");
  globalThis.window = dom.window;
  globalThis.document = dom.window.document;
  const { default: mermaid } = await import("mermaid");
  mermaid.initialize({ startOnLoad: false });
  check = async (text) => { await mermaid.parse(text); };
} else {
  const { instance } = await import("@viz-js/viz");
  const viz = await instance();
  check = async (text) => {
    const r = viz.render(text, { format: "svg" });
    if (r.status !== "success") throw new Error(r.errors.map((e) => e.message).join(" | "));
  };
}
let failed = 0;
for (const f of files) {
  try { await check(readFileSync(f, "utf8")); console.log("ok", f); }
  catch (e) { failed++; console.log("invalid", f, String(e.message || e).split("\n").join(" | ")); }
}
process.exit(failed ? 1 : 0);
