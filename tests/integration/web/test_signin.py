"""With ``BULLPEN_API_KEYS`` set the pages need a key with the ``read`` scope.

A real API process (``bullpen api``, gunicorn) runs on the integration services with keys
configured; a browser signs in, is refused with a wrong key or a key without ``read``,
signs out; the signed-in session never opens the API itself.
"""

import re
from collections.abc import Iterator

import pytest
import requests

from app.config import Settings
from tests.integration.servers import api_server
from tests.integration.web.conftest import Visit

pytestmark = pytest.mark.integration

READ_KEY, PREDICT_ONLY_KEY = "bettor-read-key", "robot-predict-key"


@pytest.fixture(scope="module")
def keyed_api(settings: Settings) -> Iterator[str]:
    """``bullpen api`` with two keys: one that may read, one that may only predict."""
    env = {
        **settings.as_env(),
        "BULLPEN_API_KEYS": f"{READ_KEY}:read,{PREDICT_ONLY_KEY}:predict",
        "BULLPEN_SECRET_KEY": "",  # derived from the keys: both gunicorn workers agree
    }
    with api_server(env, workers=2) as (base, _):
        yield base


@pytest.fixture
def keyed_visit(browser, keyed_api: str) -> Iterator[Visit]:
    visitor = Visit(browser, keyed_api)
    try:
        yield visitor
        assert visitor.foreign_requests() == [], visitor.foreign_requests()
        assert visitor.errors == [], visitor.errors
    finally:
        visitor.context.close()


def _sign_in(visit: Visit, key: str) -> None:
    page = visit.page
    page.fill("#key", key)
    with page.expect_navigation():
        page.click("form.signin button[type=submit]")


def test_the_pages_ask_for_a_read_key_and_keep_the_bettor_signed_in(keyed_visit, keyed_api):
    visit, page = keyed_visit, keyed_visit.page
    visit.goto("/bets?status=won")  # redirected to the form, which remembers the page
    assert page.url.startswith(f"{keyed_api}/signin")
    assert page.locator("h1").inner_text() == "Sign in"
    visit.screenshot("signin")

    _sign_in(visit, "not-a-key")
    assert page.locator("#signin-error").inner_text() == "unknown key"
    _sign_in(visit, PREDICT_ONLY_KEY)
    assert page.locator("#signin-error").inner_text() == "this key lacks the 'read' scope"

    _sign_in(visit, READ_KEY)
    assert page.url == f"{keyed_api}/bets?status=won"
    assert page.locator("h1").inner_text() == "Ledger and bankroll"
    assert page.locator("header .who").inner_text().startswith("signed in as key-")
    visit.goto("/models")
    assert page.locator("h1").inner_text() == "Models against the market"
    visit.screenshot("signed-in")

    # The session opens the pages only: the API still wants its Bearer key (the request
    # context sends the browser context's cookies).
    assert visit.context.request.get("/api/v1/bets").status == 401
    assert visit.context.request.get("/bets").status == 200
    cookie = {c["name"]: c["value"] for c in visit.context.cookies()}["session"]
    assert READ_KEY not in cookie  # the cookie holds the key id, never the key

    with page.expect_navigation():
        page.click("form.signout button[type=submit]")
    assert page.url.startswith(f"{keyed_api}/signin")
    visit.goto("/")
    assert page.url.startswith(f"{keyed_api}/signin")


def test_scripts_may_send_a_bearer_key_and_the_docs_stay_open(keyed_api):
    assert requests.get(f"{keyed_api}/", timeout=10, allow_redirects=False).status_code == 302
    bearer = {"Authorization": f"Bearer {READ_KEY}"}
    page = requests.get(f"{keyed_api}/", headers=bearer, timeout=30)
    assert page.status_code == 200 and "Slate of" in page.text
    refused = {"Authorization": f"Bearer {PREDICT_ONLY_KEY}"}
    assert requests.get(f"{keyed_api}/", headers=refused, timeout=10).status_code == 403
    assert requests.get(f"{keyed_api}/api/v1/docs", timeout=10).status_code == 200
    asset = requests.get(f"{keyed_api}/api/v1/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert requests.get(f"{keyed_api}/assets/style.css", timeout=10).status_code == 200
    forged = requests.get(f"{keyed_api}/", cookies={"session": "eyJrZXlfaWQiOiJ4In0.x.y"},
                          timeout=10, allow_redirects=False)  # fmt: skip
    assert forged.status_code == 302


@pytest.mark.parametrize(
    "target", ["https://example.org/", "//example.org/", "/\\example.org/", "bets", ""]
)
def test_signing_in_never_sends_the_bettor_to_another_site(keyed_api, target):
    browser = requests.Session()
    response = browser.post(
        f"{keyed_api}/signin",
        data={"key": READ_KEY, "next": target, "csrf_token": _csrf_token(browser, keyed_api)},
        timeout=10,
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def _csrf_token(browser: requests.Session, base: str) -> str:
    """The CSRF token of the sign-in form, as a browser reads it (its session cookie kept)."""
    form = browser.get(f"{base}/signin", timeout=10).text
    return re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)


def test_a_form_posted_without_its_csrf_token_is_refused(keyed_api):
    browser = requests.Session()
    _csrf_token(browser, keyed_api)  # a session, but no token in the form
    forged = browser.post(f"{keyed_api}/signin", data={"key": READ_KEY}, timeout=10,
                          allow_redirects=False)  # fmt: skip
    assert forged.status_code == 400
    token = _csrf_token(browser, keyed_api)
    signed_in = browser.post(f"{keyed_api}/signin", data={"key": READ_KEY, "csrf_token": token},
                             timeout=10, allow_redirects=False)  # fmt: skip
    assert signed_in.status_code == 302
    # Signing out is a form too: without the token the session stays.
    assert (
        browser.post(f"{keyed_api}/signout", timeout=10, allow_redirects=False).status_code == 400
    )
    assert browser.get(f"{keyed_api}/", timeout=10, allow_redirects=False).status_code == 200
