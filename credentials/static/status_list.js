// The card's bit in civid's signed Token Status List (draft-ietf-oauth-status-list): a ``statuslist+jwt``
// checked with the same credential keys (ES256, WebCrypto) before its bit is believed.
import { inflate } from "./claim169.js";

const MAX_LIST_BYTES = 16 * 1024 * 1024; // 2^27 one-bit entries: far above any civid list

function base64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// "valid" | "revoked" | "offline" | "unchecked" (a list not civid's, or one that fails its checks).
export async function cardStatus(reference, jwks, origin, now) {
  const prefix = origin + "/v1/credentials/status-lists/";
  if (!reference.uri.startsWith(prefix)) return "unchecked";
  let token;
  try {
    const response = await fetch(reference.uri, { cache: "no-cache" }); // never a copy older than the revocation
    if (!response.ok) return "unchecked";
    token = await response.text();
  } catch {
    return "offline";
  }
  const parts = token.split(".");
  if (parts.length !== 3) return "unchecked";
  const header = JSON.parse(new TextDecoder().decode(base64url(parts[0])));
  const claims = JSON.parse(new TextDecoder().decode(base64url(parts[1])));
  if (header.alg !== "ES256" || header.typ !== "statuslist+jwt") return "unchecked";
  const jwk = (jwks?.keys || []).find((k) => k.kid === header.kid && k.kty === "EC" && k.crv === "P-256");
  if (!jwk) return "unchecked";
  const key = await crypto.subtle.importKey(
    "jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"],
  );
  const signed = new TextEncoder().encode(parts[0] + "." + parts[1]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, base64url(parts[2]), signed);
  // The list must be the one the card names (its ``sub``) and still current.
  if (!ok || claims.sub !== reference.uri || (typeof claims.exp === "number" && claims.exp <= now)) return "unchecked";
  const bits = claims.status_list?.bits;
  if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8) return "unchecked";
  const array = await inflate(base64url(claims.status_list.lst), MAX_LIST_BYTES);
  const perByte = 8 / bits;
  const byte = array[Math.floor(reference.idx / perByte)];
  if (byte === undefined) return "unchecked";
  const value = (byte >> ((reference.idx % perByte) * bits)) & ((1 << bits) - 1);
  return value === 0 ? "valid" : "revoked";
}
