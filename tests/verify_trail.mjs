#!/usr/bin/env node
// An independent verifier of casework_flow trails and checkpoints, written from
// docs/trail-format.md alone (no casework_flow code). Node 18+, no packages.
//
//   node verify_trail.mjs [--checkpoint FILE --public-key PEM] [--head SEQ:HASH]
//                         [--case ID] TRAIL.jsonl
//
// Prints one JSON object {ok, case_id, entries, broken_at, problem}; exit status 0 when
// the trail verifies (and extends the head the checkpoint signed for it), 1 when not.

import { createHash, createPublicKey, verify as verifySignature } from "node:crypto";
import { readFileSync } from "node:fs";

const sha256 = (bytes) => createHash("sha256").update(bytes).digest();
const hex = (bytes) => Buffer.from(bytes).toString("hex");

// RFC 8785: keys sorted by UTF-16 code units, ECMAScript number and string forms.
function jcs(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(",")}}`;
}

// Format 1: keys sorted by code point; it agrees with JCS on everything but fractions.
const byCodePoint = (a, b) => {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
function format1(value) {
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new Error("a format 1 entry holding a fraction cannot be checked outside Python");
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(format1).join(",")}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${format1(value[k])}`).join(",")}}`;
}
const ENCODINGS = { 1: format1, 2: jcs };

// Times as microseconds since the epoch, from ISO 8601 with an offset.
function micros(text) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?([+-]\d\d:\d\d|Z)$/.exec(text);
  if (!m) throw new Error(`not an ISO time: ${text}`);
  const whole = Date.parse(`${m[1]}${m[3]}`);
  return BigInt(whole) * 1000n + BigInt((m[2] || "").padEnd(6, "0") || "0");
}

// RFC 9162, 2.1: leaf and node hashes, the root level by level, and a leaf's audit path.
const leafHash = (data) => sha256(Buffer.concat([Buffer.from([0]), Buffer.from(data)]));
const nodeHash = (l, r) => sha256(Buffer.concat([Buffer.from([1]), l, r]));
function levelUp(level) {
  const up = [];
  for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(level[i], level[i + 1]));
  if (level.length % 2) up.push(level[level.length - 1]);
  return up;
}
function root(leaves) {
  if (!leaves.length) return sha256(Buffer.alloc(0));
  let level = leaves;
  while (level.length > 1) level = levelUp(level);
  return level[0];
}
function auditPath(leaves, index) {
  const path = [];
  let level = leaves;
  let at = index;
  while (level.length > 1) {
    if ((at ^ 1) < level.length) path.push(level[at ^ 1]);
    level = levelUp(level);
    at >>= 1;
  }
  return path;
}
// RFC 9162, 2.1.3.2, as written there.
function rootFromPath(index, size, leaf, path) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}
const headLeaf = (h) => leafHash(jcs({ case_id: h.case_id, hash: h.hash, seq: h.seq }));

class Broken extends Error {
  constructor(seq, problem) {
    super(problem);
    this.seq = seq;
  }
}

function readCheckpoint(file, pem) {
  const rows = readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const [header, ...heads] = rows;
  if (header.checkpoint !== 1) throw new Broken(null, `unknown checkpoint format ${header.checkpoint}`);
  const key = createPublicKey(pem);
  const raw = Buffer.from(key.export({ format: "jwk" }).x, "base64url");
  if (hex(sha256(raw)) !== header.key_id) throw new Broken(null, "the checkpoint was signed by another key");
  const { signature, ...signed } = header;
  const message = Buffer.concat([Buffer.from("casework_flow checkpoint\n"), Buffer.from(jcs(signed))]);
  if (!verifySignature(null, message, key, Buffer.from(signature, "hex"))) {
    throw new Broken(null, "the checkpoint's signature does not verify");
  }
  if (heads.length !== header.size) throw new Broken(null, "the checkpoint holds more or fewer heads than it signed");
  const leaves = heads.map(headLeaf);
  if (hex(root(leaves)) !== header.root) throw new Broken(null, "the checkpoint's heads do not give its signed root");
  return { header, heads, leaves };
}

function checkTrail(entries, caseId, head) {
  let prev = hex(sha256(Buffer.concat([Buffer.from("casework_flow genesis\0"), Buffer.from(caseId)])));
  entries.forEach((entry, i) => {
    const seq = i + 1;
    if (entry === null) throw new Broken(seq, "the line is not JSON");
    if (entry.case_id !== caseId) throw new Broken(seq, `the entry belongs to case ${JSON.stringify(entry.case_id)}`);
    if (entry.seq !== seq) throw new Broken(seq, `expected entry ${seq}, found entry ${entry.seq}`);
    if (entry.prev_hash !== prev) throw new Broken(seq, "it does not link to the entry before it");
    const encode = ENCODINGS[entry.format];
    if (!encode) throw new Broken(seq, `unknown entry format ${entry.format}`);
    const { hash, ...body } = entry;
    let digest;
    try {
      digest = hex(sha256(Buffer.from(encode(body), "utf8")));
    } catch (err) {
      throw new Broken(seq, err.message);
    }
    if (digest !== hash) throw new Broken(seq, "its content does not match its hash");
    if ((entry.kind === "opened") !== (seq === 1)) throw new Broken(seq, "the opening is not first, or not alone");
    prev = hash;
  });
  if (head) {
    if (entries.length !== head.seq) throw new Broken(head.seq, `the trail has ${entries.length} entries, the head says ${head.seq}`);
    if (entries[head.seq - 1].hash !== head.hash) throw new Broken(head.seq, "the last entry is not the known head");
  }
}

function againstCheckpoint(entries, caseId, cp) {
  const index = cp.heads.findIndex((h) => h.case_id === caseId);
  if (index < 0) {
    if (entries.length && micros(entries[0].at) < micros(cp.header.at)) {
      throw new Broken(1, "opened before the checkpoint, which does not hold it");
    }
    return;
  }
  const signed = cp.heads[index];
  const proved = rootFromPath(index, cp.header.size, cp.leaves[index], auditPath(cp.leaves, index));
  if (!proved || hex(proved) !== cp.header.root) throw new Broken(null, "the inclusion proof fails");
  if (!entries.length) throw new Broken(1, "the checkpoint holds this case, but its trail is gone");
  if (entries.length < signed.seq) throw new Broken(entries.length + 1, `the checkpoint holds entry ${signed.seq}: entries were removed`);
  if (entries[signed.seq - 1].hash !== signed.hash) throw new Broken(signed.seq, "not the entry the checkpoint signed");
}

function main(argv) {
  const opts = { files: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (["--checkpoint", "--public-key", "--head", "--case"].includes(flag)) opts[flag.slice(2)] = argv[++i];
    else opts.files.push(flag);
  }
  const lines = readFileSync(opts.files[0], "utf8").split("\n").filter((l) => l.trim());
  const entries = lines.map((l) => { try { return JSON.parse(l); } catch { return null; } });
  const caseId = opts.case || (entries[0] && entries[0].case_id);
  const out = { ok: false, case_id: caseId ?? null, entries: entries.length, broken_at: null, problem: null };
  try {
    if (!caseId) throw new Broken(1, "the trail is empty");
    let head = null;
    if (opts.head) {
      const [seq, hash] = opts.head.split(":");
      head = { seq: Number(seq), hash };
    }
    if (entries.length) checkTrail(entries, caseId, head);
    if (opts.checkpoint) againstCheckpoint(entries, caseId, readCheckpoint(opts.checkpoint, readFileSync(opts["public-key"])));
    else if (!entries.length) throw new Broken(1, "the trail is empty");
    out.ok = true;
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    out.broken_at = err.seq;
    out.problem = err.message;
  }
  console.log(JSON.stringify(out));
  return out.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
