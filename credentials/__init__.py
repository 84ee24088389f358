"""What a citizen carries: the printed ID card with its signed Claim 169 QR (verifiable offline), the verifier of
that QR (``civid card verify`` and an offline page), and wallet credentials issued over OpenID4VCI and presented
over OpenID4VP. Signed with the credential keys (``services.credential_keys``: ``idp.keys.SigningKeys`` of purpose
``credential``), apart from the OpenID keys, published at ``/v1/credentials/jwks.json``."""
