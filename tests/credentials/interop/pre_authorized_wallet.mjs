// An independent OpenID4VCI wallet: Animo's / OpenWallet Foundation's @openid4vc/openid4vci (oid4vc-ts) receives
// civid's PID through the pre-authorized code flow. Input: argv[2] = JSON {offer_link, tx_code}. Output (stdout):
// JSON {credential, token_type, configuration_ids, public_jwk}.
import { webcrypto } from 'node:crypto'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import { setGlobalConfig } from '@openid4vc/utils'

setGlobalConfig({ allowInsecureUrls: true }) // civid serve on http://localhost in the test

const { offer_link, tx_code } = JSON.parse(process.argv[2])
const subtle = webcrypto.subtle
const b64url = (bytes) => Buffer.from(bytes).toString('base64url')
const keyPair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
const { kty, crv, x, y } = await subtle.exportKey('jwk', keyPair.publicKey)
const publicJwk = { kty, crv, x, y }

const callbacks = {
  fetch,
  hash: async (data, alg) => new Uint8Array(await subtle.digest(alg.replace('sha-', 'SHA-'), data)),
  generateRandom: (length) => webcrypto.getRandomValues(new Uint8Array(length)),
  clientAuthentication: clientAuthenticationAnonymous(),
  signJwt: async (signer, { header, payload }) => {
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
    const signature = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey, Buffer.from(input))
    return { jwt: `${input}.${b64url(new Uint8Array(signature))}`, signerJwk: publicJwk }
  },
}

const client = new Openid4vciClient({ callbacks })
const credentialOffer = await client.resolveCredentialOffer(offer_link)
const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer,
  issuerMetadata,
  txCode: tx_code,
})
const credentialConfigurationId = credentialOffer.credential_configuration_ids[0]
const { c_nonce } = await client.requestNonce({ issuerMetadata })
const { jwt } = await client.createCredentialRequestJwtProof({
  issuerMetadata,
  credentialConfigurationId,
  nonce: c_nonce,
  signer: { method: 'jwk', alg: 'ES256', publicJwk },
})
const response = await client.retrieveCredentials({
  issuerMetadata,
  accessToken: accessTokenResponse.access_token,
  credentialConfigurationId,
  proofs: { jwt: [jwt] },
})
if (!response.ok) {
  console.error(JSON.stringify(response.credentialErrorResponseResult ?? response))
  process.exit(1)
}
const body = response.credentialResponse
console.log(
  JSON.stringify({
    credential: body.credentials[0].credential,
    token_type: accessTokenResponse.token_type,
    configuration_ids: credentialOffer.credential_configuration_ids,
    public_jwk: publicJwk,
  }),
)
