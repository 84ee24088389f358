"""Review: consent given for a stated purpose must not silently cover a request stating no purpose."""

from types import SimpleNamespace

from idp.consent import ClientConsent, covers


def test_a_purpose_bound_consent_does_not_cover_a_request_without_purpose():
    row = SimpleNamespace(
        uid="c1", claims=["verified_claims:birthdate"], scopes=["openid"], purpose="Opening your savings account"
    )
    given = ClientConsent((row,))
    assert covers(given, ["openid"], ["verified_claims:birthdate"], purpose="Opening your savings account")
    assert not covers(given, ["openid"], ["verified_claims:birthdate"], purpose=None)  # fails today: True
