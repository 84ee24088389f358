"""The officer and adjudicator console: server-rendered pages for registration officers, adjudicators,
auditors and admins, signed in through civid's own OpenID provider."""
