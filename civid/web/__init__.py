"""The web plumbing every page package shares (console, idp, kyc): languages and their catalogues, page
rendering with the security headers, and CSRF protection of civid's own forms."""
