// The ID card's QR (MOSIP Claim 169): Base45 → zlib → COSE_Sign1 (RFC 9052) → CWT (RFC 8392) → claim 169, and
// the ES256 signature checked with WebCrypto against the credential key the COSE header names.
import { base45Decode } from "./base45.js";
import { Tagged, decode, encode } from "./cbor.js";

const COSE_SIGN1 = 18; // RFC 9052 §2
const CWT_TAG = 61; // RFC 8392 §6
const ES256 = -7; // RFC 9053 §2.1
const HEADER_ALG = 1;
const HEADER_KID = 4;
export const CWT = { iss: 1, sub: 2, exp: 4, nbf: 5, iat: 6, cti: 7, identity: 169, status: 65535 };
// Claim 169's numeric keys (mosip/id-claim-169); the page shows these, the rest (biometrics 50+) are ignored.
export const FIELDS = {
  1: "id", 4: "full_name", 5: "first_name", 6: "middle_name", 7: "last_name", 8: "date_of_birth",
  9: "gender", 10: "address", 13: "nationality",
};
const PHOTO = 16;
const PHOTO_FORMAT = 17;
const PHOTO_TYPES = { 1: "image/jpeg", 2: "image/jp2", 3: "image/avif", 4: "image/webp" };
const MAX_INFLATED = 64 * 1024; // a QR holds under 3 KB; more is a zip bomb, not a card

async function inflate(bytes, limit = MAX_INFLATED) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new Error("inflated QR too large");
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function untag(value, tag) {
  return value instanceof Tagged && value.tag === tag ? value.value : value;
}

// The QR text's COSE_Sign1 parts and the CWT it signs; throws when the text is not a Claim 169 QR.
export async function parse(text) {
  const compressed = base45Decode(text.trim());
  let sign1 = decode(await inflate(compressed));
  sign1 = untag(untag(sign1, CWT_TAG), COSE_SIGN1);
  if (!Array.isArray(sign1) || sign1.length !== 4) throw new Error("not a COSE_Sign1");
  const [protectedBytes, unprotected, payload, signature] = sign1;
  if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new Error("not a COSE_Sign1");
  }
  const protectedHeader = protectedBytes.length ? decode(protectedBytes) : new Map();
  if (!(protectedHeader instanceof Map) || !(unprotected instanceof Map)) throw new Error("bad COSE headers");
  const kid = protectedHeader.get(HEADER_KID) ?? unprotected.get(HEADER_KID);
  const cwt = decode(payload);
  if (!(cwt instanceof Map) || !(cwt.get(CWT.identity) instanceof Map)) throw new Error("no claim 169");
  return {
    alg: protectedHeader.get(HEADER_ALG), // only the protected alg counts (RFC 9052 §3.1)
    kid: kid instanceof Uint8Array ? new TextDecoder().decode(kid) : typeof kid === "string" ? kid : null,
    toBeSigned: encode(["Signature1", protectedBytes, new Uint8Array(0), payload]), // RFC 9052 §4.4
    signature,
    cwt,
  };
}

// "valid" | "invalid" | "unknown_key" | "unsupported_alg": the signature against ``jwks``'s key of that kid.
export async function verifySignature(parsed, jwks) {
  if (parsed.alg !== ES256) return "unsupported_alg";
  const jwk = (jwks?.keys || []).find((k) => k.kid === parsed.kid && k.kty === "EC" && k.crv === "P-256");
  if (!jwk) return "unknown_key";
  if (parsed.signature.length !== 64) return "invalid";
  const key = await crypto.subtle.importKey(
    "jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"],
  );
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, parsed.signature, parsed.toBeSigned);
  return ok ? "valid" : "invalid";
}

// "valid" | "expired" | "not_yet_valid" | "no_expiry" at ``now`` (seconds).
export function validity(cwt, now) {
  const exp = cwt.get(CWT.exp);
  const nbf = cwt.get(CWT.nbf);
  if (typeof nbf === "number" && now < nbf) return "not_yet_valid";
  if (typeof exp !== "number") return "no_expiry";
  return now >= exp ? "expired" : "valid";
}

// The card's identity fields by name, its photo as a Blob (or null), and its card number (CWT cti) as text.
export function identity(cwt) {
  const claims = cwt.get(CWT.identity);
  const fields = {};
  for (const [key, name] of Object.entries(FIELDS)) {
    const value = claims.get(Number(key));
    if (value !== undefined && value !== null) fields[name] = value;
  }
  const photo = claims.get(PHOTO);
  const type = PHOTO_TYPES[claims.get(PHOTO_FORMAT)] || "application/octet-stream";
  const cti = cwt.get(CWT.cti);
  return {
    fields,
    photo: photo instanceof Uint8Array ? new Blob([photo], { type }) : null,
    cardNumber: cti instanceof Uint8Array ? new TextDecoder().decode(cti) : null,
  };
}

// The Token Status List reference (``{idx, uri}``) of the card, or null.
export function statusReference(cwt) {
  const status = cwt.get(CWT.status);
  const list = status instanceof Map ? status.get("status_list") : null;
  if (!(list instanceof Map)) return null;
  const idx = list.get("idx");
  const uri = list.get("uri");
  return Number.isInteger(idx) && typeof uri === "string" ? { idx, uri } : null;
}

export { inflate };
