# civid service image. dlib comes as the prebuilt dlib-bin wheel: nothing is compiled.
# jsQR, the card verifier page's QR decoder, from the npm registry at the version package-lock.json pins.
FROM node:20-slim AS verifier-scripts
WORKDIR /build
COPY credentials/verifier/package.json credentials/verifier/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CIVID_DATA_DIR=/data CIVID_HOST=0.0.0.0 CIVID_PORT=8000
# Set CIVID_ISSUER to the public https URL (e.g. https://id.gov.bz) when running the image: tokens, discovery,
# cookies (Secure, __Host-) and passkeys (the WebAuthn relying-party id is its host) derive from it.
RUN useradd --system --home /app civid && mkdir -p /data && chown civid /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY civid civid
COPY server server
COPY enrollment enrollment
COPY matcher matcher
COPY idp idp
COPY kyc kyc
COPY abis abis
COPY console console
COPY models models
COPY crvs crvs
COPY credentials credentials
COPY notifications notifications
COPY --from=verifier-scripts /build/node_modules credentials/verifier/node_modules
RUN pip install --no-cache-dir --upgrade pip "setuptools<81" wheel \
    && pip install --no-cache-dir .
USER civid
VOLUME /data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["civid", "serve"]
