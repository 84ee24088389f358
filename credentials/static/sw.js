// The verifier's service worker (scope /verify): the page, its scripts, jsQR and the credential keys are
// answered from the network when it answers and from this cache when it does not, so a clinic with no network
// still verifies cards signed by any key it has seen. Status lists are never cached: offline, revocation is
// reported as not checked rather than from a stale list.
const CACHE = "civid-verifier-v1";
const JWKS = "/v1/credentials/jwks.json";
const SHELL = [
  "/verify",
  "/verify/assets/verify.js",
  "/verify/assets/claim169.js",
  "/verify/assets/cbor.js",
  "/verify/assets/base45.js",
  "/verify/assets/status_list.js",
  "/verify/assets/verify.css",
  "/static/idp/civid.css",
  JWKS,
];
const OPTIONAL = ["/verify/jsQR.js"]; // absent when npm was not there to install it
const KEPT = new Set([...SHELL, ...OPTIONAL]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then(async (cache) => {
      await cache.addAll(SHELL);
      await Promise.all(OPTIONAL.map((path) => cache.add(path).catch(() => undefined)));
      await self.skipWaiting();
    }),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("civid-verifier-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The page asks for its own address (with its ?lang=) to be kept too.
self.addEventListener("message", (event) => {
  const path = event.data && event.data.keep;
  if (typeof path !== "string" || !path.startsWith("/verify")) return;
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.add(path))
      .catch(() => undefined)
      .then(() => event.ports[0] && event.ports[0].postMessage("kept")),
  );
});

async function networkFirst(request, path) {
  const cache = await caches.open(CACHE);
  try {
    // The keys are revalidated, not taken from the HTTP cache: a new key is known as soon as the network is.
    const response = path === JWKS ? await fetch(request.url, { cache: "no-cache" }) : await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = (await cache.match(request)) || (request.mode === "navigate" ? await cache.match("/verify") : null);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const page = url.pathname === "/verify";
  if (!page && !KEPT.has(url.pathname)) return; // status lists and everything else: the network only
  event.respondWith(networkFirst(event.request, url.pathname));
});
