// civid's small CBOR (RFC 8949) decoder and the one encoding the COSE Sig_structure needs. Maps decode to Map
// (Claim 169 and CWT keys are integers), byte strings to Uint8Array, tags to {tag, value}. Input is untrusted:
// lengths are checked against what is left, nesting is bounded, indefinite lengths are refused (COSE and CWT use
// the deterministic encoding, RFC 9052 §9 and RFC 8392 §7).
const MAX_DEPTH = 16;
const decoder = new TextDecoder("utf-8", { fatal: true });

export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

export function decode(bytes) {
  const reader = { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), at: 0 };
  const value = item(reader, 0);
  if (reader.at !== bytes.length) throw new Error("CBOR: trailing bytes");
  return value;
}

function need(reader, n) {
  if (n > reader.bytes.length - reader.at) throw new Error("CBOR: truncated");
}

function argument(reader, info) {
  if (info < 24) return info;
  const sizes = { 24: 1, 25: 2, 26: 4, 27: 8 };
  const size = sizes[info];
  if (!size) throw new Error("CBOR: indefinite or reserved length");
  need(reader, size);
  const at = reader.at;
  reader.at += size;
  if (size === 1) return reader.view.getUint8(at);
  if (size === 2) return reader.view.getUint16(at);
  if (size === 4) return reader.view.getUint32(at);
  const big = reader.view.getBigUint64(at);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("CBOR: integer too large");
  return Number(big);
}

function item(reader, depth) {
  if (depth > MAX_DEPTH) throw new Error("CBOR: nested too deep");
  need(reader, 1);
  const initial = reader.bytes[reader.at++];
  const major = initial >> 5;
  const info = initial & 31;
  if (major === 7) return simple(reader, info);
  const n = argument(reader, info);
  switch (major) {
    case 0:
      return n;
    case 1:
      return -1 - n;
    case 2:
      need(reader, n);
      reader.at += n;
      return reader.bytes.slice(reader.at - n, reader.at);
    case 3:
      need(reader, n);
      reader.at += n;
      return decoder.decode(reader.bytes.subarray(reader.at - n, reader.at));
    case 4: {
      need(reader, n); // each element is at least one byte
      const list = [];
      for (let i = 0; i < n; i++) list.push(item(reader, depth + 1));
      return list;
    }
    case 5: {
      need(reader, 2 * n);
      const map = new Map();
      for (let i = 0; i < n; i++) {
        const key = item(reader, depth + 1);
        if (typeof key === "object") throw new Error("CBOR: map key must be an integer or text");
        if (map.has(key)) throw new Error("CBOR: duplicate map key");
        map.set(key, item(reader, depth + 1));
      }
      return map;
    }
    default:
      return new Tagged(n, item(reader, depth + 1));
  }
}

function simple(reader, info) {
  if (info === 20) return false;
  if (info === 21) return true;
  if (info === 22 || info === 23) return null;
  if (info === 25 || info === 26 || info === 27) {
    const size = { 25: 2, 26: 4, 27: 8 }[info];
    need(reader, size);
    const at = reader.at;
    reader.at += size;
    if (size === 4) return reader.view.getFloat32(at);
    if (size === 8) return reader.view.getFloat64(at);
    return half(reader.view.getUint16(at));
  }
  throw new Error("CBOR: unsupported simple value");
}

function half(bits) {
  const exponent = (bits >> 10) & 31;
  const fraction = bits & 1023;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

// --- encoding: arrays, text and byte strings (the Sig_structure, RFC 9052 §4.4) --------------------------
function head(major, length) {
  if (length < 24) return [(major << 5) | length];
  if (length < 0x100) return [(major << 5) | 24, length];
  if (length < 0x10000) return [(major << 5) | 25, length >> 8, length & 0xff];
  return [(major << 5) | 26, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
}

export function encode(value) {
  const parts = [];
  const walk = (v) => {
    if (v instanceof Uint8Array) {
      parts.push(Uint8Array.from(head(2, v.length)), v);
    } else if (typeof v === "string") {
      const utf8 = new TextEncoder().encode(v);
      parts.push(Uint8Array.from(head(3, utf8.length)), utf8);
    } else if (Array.isArray(v)) {
      parts.push(Uint8Array.from(head(4, v.length)));
      v.forEach(walk);
    } else {
      throw new Error("CBOR: cannot encode " + typeof v);
    }
  };
  walk(value);
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
