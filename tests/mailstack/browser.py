#!/usr/bin/python3
"""browser.py URL - a scripted browser for the OAuth2 tests.

Opens the provider's authorization URL, fills in the consent form (the
address given on the page, or BROWSER_EMAIL) and submits it with
BROWSER_CONFIRM (yes by default), then follows the redirect to the
program's loopback address, as a person's browser would. Writes what it
saw to BROWSER_LOG when that is set.
"""
import html.parser
import os
import sys
import urllib.parse
import urllib.request


class Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


def log(text):
    path = os.environ.get("BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def main():
    url = sys.argv[1]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=20) as page:
        form = Form()
        form.feed(page.read().decode("utf-8", "replace"))
    if not form.action:
        log("no consent form at " + url)
        return 1
    fields = dict(form.fields)
    if os.environ.get("BROWSER_EMAIL"):
        fields["email"] = os.environ["BROWSER_EMAIL"]
    fields["confirm"] = os.environ.get("BROWSER_CONFIRM", "yes")
    target = urllib.parse.urljoin(url, form.action)
    body = urllib.parse.urlencode(fields).encode("ascii")
    # urllib follows the 302 to the loopback redirect with a GET.
    with opener.open(target, data=body, timeout=20) as done:
        text = done.read().decode("utf-8", "replace")
        log("redirected to %s: %s" % (done.geturl().split("?")[0], text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
