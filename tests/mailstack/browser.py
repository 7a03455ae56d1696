#!/usr/bin/python3
"""browser.py URL - a person at a real browser, for the OAuth2 tests.

Debian's Chromium (headless, a throw-away profile), driven through Debian's
chromedriver over the W3C WebDriver protocol (plain HTTP and JSON, so the
standard library is enough): it opens the provider's authorization URL,
types the address into the consent form when BROWSER_EMAIL is set, presses
Allow (or Deny with BROWSER_CONFIRM=no), and waits until the browser has
followed the provider's redirect to the program's loopback address and
shows its page. Writes what it saw to BROWSER_LOG when that is set.
Exits 0 once the loopback page is shown, 1 otherwise.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# No proxy: everything the tests run is on loopback.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(text):
    path = os.environ.get("BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with OPENER.open(request, timeout=30) as answer:
            return json.loads(answer.read().decode("utf-8"))["value"]

    def in_session(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def element(self, css):
        found = self.in_session("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))


def wait_for_driver(driver, process):
    until = time.monotonic() + 20
    while time.monotonic() < until:
        if process.poll() is not None:
            raise RuntimeError("chromedriver exited with %s" % process.returncode)
        try:
            if driver.call("GET", "/status").get("ready"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("chromedriver did not start within 20 s")


def main():
    url = sys.argv[-1]
    port = free_port()
    profile = tempfile.mkdtemp(prefix="mailpay-browser-")
    process = subprocess.Popen(
        [CHROMEDRIVER, "--port=%d" % port],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    driver = WebDriver(port)
    try:
        wait_for_driver(driver, process)
        options = {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--user-data-dir=" + profile,
            ],
        }
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        driver.session = driver.call("POST", "/session", {"capabilities": capabilities})["sessionId"]
        driver.in_session("POST", "/url", {"url": url})
        email = os.environ.get("BROWSER_EMAIL")
        if email:
            field = driver.element("input[name=email]")
            driver.in_session("POST", "/element/%s/clear" % field, {})
            driver.in_session("POST", "/element/%s/value" % field, {"text": email})
        choice = os.environ.get("BROWSER_CONFIRM", "yes")
        button = driver.element("button[name=confirm][value=%s]" % choice)
        driver.in_session("POST", "/element/%s/click" % button, {})
        # The provider redirects to the program's loopback listener.
        until = time.monotonic() + 20
        while time.monotonic() < until:
            now = driver.in_session("GET", "/url")
            if now.startswith("http://127.0.0.1:") and "/authorize" not in now:
                text = driver.in_session("GET", "/source")
                if text:
                    log("redirected to %s: %s" % (now.split("?")[0], text))
                    return 0
            time.sleep(0.1)
        log("never redirected to the program; last at %s" % driver.in_session("GET", "/url"))
        return 1
    except Exception as e:  # what a person would see: the page did not work
        log("the browser failed: %s" % e)
        return 1
    finally:
        if driver.session:
            try:
                driver.in_session("DELETE", "")
            except OSError:
                pass
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
