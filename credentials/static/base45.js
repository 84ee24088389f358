// Base45 (RFC 9285): the QR's alphanumeric text back to bytes. Three characters carry two bytes, the last
// two characters of an odd-length input one byte; anything else is refused rather than guessed at.
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

export function base45Decode(text) {
  const values = [];
  for (const ch of text) {
    const value = ALPHABET.indexOf(ch);
    if (value < 0) throw new Error("not Base45");
    values.push(value);
  }
  if (values.length % 3 === 1) throw new Error("not Base45: bad length");
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Error("not Base45: chunk out of range");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Error("not Base45: chunk out of range");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}
