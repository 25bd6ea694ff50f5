"""Drives the node's web panel in headless Chromium (Debian's package) with Playwright
(PyPI), against real nodes the Swift test started. Prints one JSON line: every check by
name, [passed, detail]. The Swift test (PanelBrowserTests) fails on a missing or failed
check. Screenshots of every page at 1280 and 400 px go to the given directory.

Usage: panel_browser.py CONFIG_JSON
  CONFIG: a, b (API host:port of nodes A and B), a_token, b_token, login (a login link for
  A), short_login and short_expires_ms (a link that expires first), b_id, shots (directory).
"""
import http.client
import json
import os
import re
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

config = json.loads(sys.argv[1])
A = "http://" + config["a"]
checks = {}


def check(name, passed, detail=""):
    checks[name] = [bool(passed), str(detail)[:600]]


def api(address, token, method, path, body=None):
    """Node B's (or A's) JSON API with its bearer token."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request("http://" + address + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def raw(method, path, headers, body=None):
    """A request with exactly these headers (a browser would not let a page set Host)."""
    host, port = config["a"].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name, value)
    payload = body.encode() if body else b""
    if body is not None:
        connection.putheader("Content-Length", str(len(payload)))
    connection.endheaders(payload if body is not None else None)
    response = connection.getresponse()
    text = response.read().decode(errors="replace")
    connection.close()
    return response.status, text


PAGES = ["/ui/", "/ui/peers", "/ui/feed", "/ui/search?q=marker", "/ui/forks", "/ui/agents", "/ui/agents/" + config["b_id"],
         "/ui/tasks", "/ui/tasks?role=worker", "/ui/groups", "/ui/groups/" + config["group"], "/ui/store", "/ui/metrics"]
INJECTIONS = ["<script>window.__xss=1</script>", "\"><img src=x onerror=\"window.__xss=2\">", "javascript:window.__xss=3"]

try:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=config.get("chromium", "/usr/bin/chromium"), args=["--no-sandbox"])
        console_errors = []
        dialogs = []

        def watch(page):
            page.on("console", lambda message: console_errors.append(message.location.get("url", "") + ": " + message.text)
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: console_errors.append(str(error)))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

        # Not signed in: every page refuses, and says how to sign in.
        anonymous = browser.new_context()
        page = anonymous.new_page()
        response = page.goto(A + "/ui/feed")
        check("anonymous_refused", response.status == 401 and "plexus ui" in page.content(), response.status)

        # The link signs in once.
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        watch(page)
        page.goto(config["login"])
        page.wait_for_url(A + "/ui/")
        check("login_works", page.locator("h1").inner_text() == "Overview", page.url)
        cookies = [c for c in context.cookies() if c["name"] == "plexus_panel"]
        check("cookie_flags", len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict", cookies)
        check("cookie_hidden_from_script", "plexus_panel" not in page.evaluate("document.cookie"), page.evaluate("document.cookie"))
        again = browser.new_context().new_page()
        response = again.goto(config["login"])
        check("login_link_once", response.status == 401 and "not valid" in again.content(), response.status)
        # The short link has expired by now: wait for its stated expiry, then use it.
        delay = config["short_expires_ms"] / 1000 + 0.2 - time.time()
        if delay > 0:
            time.sleep(delay)
        late = browser.new_context().new_page()
        response = late.goto(config["short_login"])
        check("login_link_expires", response.status == 401, response.status)

        # Every page, at both widths: loads, titled, no console errors, no sideways scrolling.
        os.makedirs(config["shots"], exist_ok=True)
        for width in (1280, 400):
            page.set_viewport_size({"width": width, "height": 900})
            for path in PAGES:
                response = page.goto(A + path)
                name = (path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "overview")[:40]
                page.screenshot(path=os.path.join(config["shots"], "%s-%d.png" % (name, width)), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                check("page %s at %d" % (path, width), response.status == 200 and page.locator("h1").count() == 1 and overflow <= 1,
                      "status %d, overflow %d px" % (response.status, overflow))
        check("every_control_named", page.evaluate("""() => {
            const missing = [];
            for (const page of [document]) {
              page.querySelectorAll('input:not([type=hidden]), textarea, button, select').forEach(el => {
                const name = el.labels && el.labels.length ? el.labels[0].innerText : (el.getAttribute('aria-label') || el.innerText);
                if (!name || !name.trim()) missing.push(el.outerHTML);
              });
            }
            return missing.length === 0;
        }"""))

        # Entries from the mesh render inert: published on B before the page loaded.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(A + "/ui/feed?topic=panel")
        text = page.locator("main").inner_text()
        check("injection_text_shown", all(s in text for s in INJECTIONS), text[:300])
        check("injection_inert_feed", page.evaluate("window.__xss === undefined") and page.locator("img").count() == 0
              and page.locator("a[href^='javascript:']").count() == 0 and page.locator("main script").count() == 0)
        first = page.locator("td.preview a").first.get_attribute("href")
        page.goto(A + first)
        check("entry_page", page.locator("pre.content").count() == 1 and "Signature" in page.content(), first)
        check("injection_inert_entry", page.evaluate("window.__xss === undefined") and page.locator("img").count() == 0)

        # A group's claim, sealed at rest, is opened for its page and shown inert.
        page.goto(A + "/ui/groups/" + config["group"])
        main = page.locator("main").inner_text()
        check("group_page", "panel-lab" in main and "claim " + INJECTIONS[0] in main and "owner" in main, main[:300])
        check("injection_inert_group", page.evaluate("window.__xss === undefined") and page.locator("main script").count() == 0)
        page.goto(A + "/ui/store")
        main = page.locator("main").inner_text()
        check("store_page", "beyond 1000 entries" in main and "4.1 kB" in main, main[:400])

        # Live: an entry published on B appears on A's feed page without a reload, inert too.
        page.goto(A + "/ui/feed?topic=panel")
        page.evaluate("window.__notReloaded = true")
        marker = "live entry %d" % int(time.time() * 1000)
        api(config["b"], config["b_token"], "POST", "/v1/publish", {"topic": "panel", "content": {"text": marker}})
        api(config["b"], config["b_token"], "POST", "/v1/publish", {"topic": "panel", "content": {"text": INJECTIONS[1] + " live"}})
        try:
            page.locator("td.preview", has_text=marker).wait_for(timeout=20000)
            page.locator("td.preview", has_text=INJECTIONS[1] + " live").wait_for(timeout=20000)
            appeared = True
        except Exception as error:  # noqa: BLE001 - reported as the check's detail
            appeared = error
        check("live_entry", appeared is True and page.evaluate("window.__notReloaded === true"), appeared)
        check("injection_inert_live", page.evaluate("window.__xss === undefined") and page.locator("img").count() == 0)

        # An idle tab sends nothing: the event stream is one open request, nothing polls.
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        time.sleep(3)
        check("idle_no_requests", len(requests) == 0, requests)

        # A task sent from the form runs on B's worker and completes; the page follows it.
        page.goto(A + "/ui/tasks")
        page.get_by_label("Capability").fill("echo")
        page.get_by_label("Payload (JSON, or text)").fill('{"n": 7}')
        with page.expect_navigation():
            page.get_by_role("button", name="Send", exact=True).click()
        check("task_form_sent", "/ui/tasks/" in page.url, page.url + " " + page.locator("main").inner_text()[:300])
        try:
            page.locator("[data-field=state]", has_text="completed").wait_for(timeout=30000)
            completed = True
        except Exception as error:  # noqa: BLE001
            completed = error
        result = page.locator("pre[data-field=result]")
        check("task_from_form_completes", completed is True and result.count() == 1 and re.search(r'"n"\s*:\s*7', result.inner_text()), completed)

        # Cancel: a task on the slow worker, cancelled from its page.
        page.goto(A + "/ui/tasks")
        page.get_by_label("Capability").fill("slow")
        page.get_by_label("Payload (JSON, or text)").fill("wait")
        with page.expect_navigation():
            page.get_by_role("button", name="Send", exact=True).click()
        with page.expect_navigation():
            page.get_by_role("button", name="Cancel this task").click()
        state = page.locator("[data-field=state]").inner_text()
        check("cancel_works", state == "canceled", state)

        # Forms need the session's CSRF token: none or a wrong one is refused, the right one works.
        csrf = page.locator("input[name=csrf]").first.get_attribute("value")
        form = {"capability": "echo", "payload": "{}"}
        no_token = context.request.post(A + "/ui/tasks", form=form, max_redirects=0)
        wrong = context.request.post(A + "/ui/tasks", form=dict(form, csrf="x" * 43), max_redirects=0)
        right = context.request.post(A + "/ui/tasks", form=dict(form, csrf=csrf), max_redirects=0)
        check("csrf_missing_refused", no_token.status == 403, no_token.status)
        check("csrf_wrong_refused", wrong.status == 403, wrong.status)
        check("csrf_right_works", right.status == 303 and "/ui/tasks/" in right.headers.get("location", ""), right.status)
        outsider = anonymous.request.post(A + "/ui/tasks", form=dict(form, csrf=csrf), max_redirects=0)
        check("form_without_session_refused", outsider.status == 401, outsider.status)

        # DNS rebinding and other origins: a foreign Host or Origin is refused, even with the cookie.
        cookie = "plexus_panel=" + cookies[0]["value"]
        status, _ = raw("GET", "/ui/", {"Host": "evil.example:" + config["a"].rsplit(":", 1)[1], "Cookie": cookie})
        check("foreign_host_refused", status == 403, status)
        status, _ = raw("GET", "/ui/", {"Host": config["a"], "Cookie": cookie})
        check("own_host_works", status == 200, status)
        status, _ = raw("POST", "/ui/tasks", {"Host": config["a"], "Cookie": cookie, "Origin": "http://evil.example",
                                             "Content-Type": "application/x-www-form-urlencoded"}, "csrf=" + csrf + "&capability=echo")
        check("foreign_origin_refused", status == 403, status)

        # The API token appears in no page.
        leaked = []
        for path in PAGES:
            page.goto(A + path)
            if config["a_token"] in page.content():
                leaked.append(path)
        check("token_not_in_pages", not leaked, leaked)

        # Everything above ran without a script error or a failed load in the signed-in tab.
        check("no_console_errors", not console_errors, console_errors)

        # Signing out ends the session (the refused page load is the one expected console error).
        page.get_by_role("button", name="Sign out").click()
        response = page.goto(A + "/ui/")
        check("logout", response.status == 401, response.status)

        check("no_dialogs", not dialogs, dialogs)
        browser.close()
except Exception as error:  # noqa: BLE001 - a stage that broke is a failed check
    check("script_completed", False, repr(error))
else:
    check("script_completed", True)

print(json.dumps(checks))
