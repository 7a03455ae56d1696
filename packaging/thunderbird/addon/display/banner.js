/* MailPay for Thunderbird: the banner above a displayed mail.
 *
 * Asks the background page what this mail means to MailPay (the wallet
 * asked for the user's review of it, or it holds a `mailpay:` link) and, if
 * anything, shows one line and one button at the top of the mail. The
 * click is handed back to the background page, which finds the action
 * again from the displayed mail itself and passes it to the wallet.
 */
"use strict";

(() => {
  const BANNER = "mailpay-banner";
  const t = (name) => browser.i18n.getMessage(name);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function draw(action) {
    const old = document.getElementById(BANNER);
    if (old) {
      old.remove();
    }
    if (!action || (action.kind !== "review" && action.kind !== "pay") || !document.body) {
      return;
    }
    const banner = element("div", "mailpay-banner");
    banner.id = BANNER;
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-label", t("extensionName"));
    const words = element("div", "mailpay-banner-words");
    words.append(element("strong", "mailpay-banner-title", t(action.kind === "review" ? "reviewHeading" : "payHeading")));
    const detail = action.kind === "review" ? action.text : action.link;
    if (detail) {
      words.append(element("span", "mailpay-banner-detail", detail));
    }
    const status = element("span", "mailpay-banner-status");
    status.setAttribute("role", "status");
    words.append(status);
    const button = element("button", "mailpay-banner-button", t(action.kind === "review" ? "reviewButton" : "payButton"));
    button.type = "button";
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "";
      try {
        const result = await browser.runtime.sendMessage({ type: "mailpay-banner-click" });
        status.textContent = result && result.ok ? t("handedToWallet") : (result && result.reason) || t("walletNotRunning");
      } finally {
        button.disabled = false;
      }
    });
    banner.append(words, button);
    document.body.prepend(banner);
  }

  async function refresh() {
    try {
      draw(await browser.runtime.sendMessage({ type: "mailpay-banner-query" }));
    } catch (e) {
      console.warn("mailpay: the banner cannot reach the add-on:", e.message || e);
    }
  }

  browser.runtime.onMessage.addListener((message) => {
    if (message && message.type === "mailpay-refresh") {
      refresh();
    }
  });
  refresh();
})();
