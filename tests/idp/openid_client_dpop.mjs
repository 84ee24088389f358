// A relying party that speaks DPoP through panva's openid-client 6 (installed by .ci/run into .ci/node), against a
// running civid: PAR with a DPoP proof, then (once the test has signed the citizen in and hands back the
// callback URL on stdin) the code exchange, UserInfo, a refresh and UserInfo again, all with DPoP, and one
// UserInfo call with the bound token as a plain bearer token. civid's server nonces are answered by the
// library's own retry. Prints one JSON line before the sign-in and one after.
//
// usage: node openid_client_dpop.mjs NODE_MODULES ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [nodeModules, issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2)
// The package lives in .ci/node, not beside this file, and ES modules resolve only beside the importer.
const client = await import(pathToFileURL(join(nodeModules, 'openid-client', 'build', 'index.js')).href)
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const say = (value) => process.stdout.write(JSON.stringify(value) + '\n')

const config = await client.discovery(
  new URL(issuer),
  clientId,
  { redirect_uris: [redirectUri], id_token_signed_response_alg: 'ES256' },
  client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests] }, // civid listens on http://localhost in the test
)
const keyPair = await client.randomDPoPKeyPair('ES256', { extractable: true })
const DPoP = client.getDPoPHandle(config, keyPair)
const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey)

const codeVerifier = client.randomPKCECodeVerifier()
const state = client.randomState()
const nonce = client.randomNonce()
const authorizationUrl = await client.buildAuthorizationUrlWithPAR(
  config,
  {
    redirect_uri: redirectUri,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  },
  { DPoP },
)
say({ authorize: authorizationUrl.href, jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })

const callback = (await lines.next()).value
const tokens = await client.authorizationCodeGrant(
  config,
  new URL(callback),
  { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
  undefined,
  { DPoP },
)
const sub = tokens.claims().sub
const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })

let asBearer
try {
  await client.fetchUserInfo(config, tokens.access_token, sub)
  asBearer = { accepted: true }
} catch (error) {
  asBearer = {
    accepted: false,
    message: String(error.message),
    status: error.status ?? error.response?.status ?? error.cause?.status ?? null,
    challenge: error.response?.headers?.get('www-authenticate') ?? null,
  }
}

const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP })
const userinfoAfterRefresh = await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP })
say({
  token_type: tokens.token_type,
  access_token: tokens.access_token,
  sub,
  userinfo,
  as_bearer: asBearer,
  refreshed_token_type: refreshed.token_type,
  refreshed_access_token: refreshed.access_token,
  refresh_token_rotated: refreshed.refresh_token !== tokens.refresh_token,
  userinfo_after_refresh: userinfoAfterRefresh,
})
process.exit(0)
