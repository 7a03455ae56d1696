/* Test-only: a test's hands and eyes in a headless Thunderbird.
 *
 * Connects to the native host org.mailpay.testprobe (the recording host of
 * tests/thunderbird, which gives it a folder of its own) and does what the
 * test's frames say, answering each with a frame of the same `id`:
 *
 *   {"id": 1, "type": "open", "headerMessageId": "..."}  -> {"id": 1, "tab": N} (a message tab)
 *   {"id": 2, "type": "banner", "tab": N}                -> {"id": 2, "text": "..." | null}
 *   {"id": 3, "type": "click", "tab": N}                 -> {"id": 3, "clicked": true | false}
 *   {"id": 4, "type": "status", "tab": N}                -> {"id": 4, "text": "..."}
 *   {"id": 5, "type": "windows"}                         -> {"id": 5, "windows": ["normal", "messageCompose", ...]}
 *
 * Errors come back as {"id": N, "error": "..."}. Never shipped.
 */
"use strict";

let port = null;

const BANNER_TEXT = `(() => {
  const banner = document.getElementById("mailpay-banner");
  return banner ? banner.textContent : null;
})()`;
const CLICK = `(() => {
  const button = document.querySelector("#mailpay-banner button");
  if (!button) return false;
  button.click();
  return true;
})()`;
const STATUS = `(() => {
  const status = document.querySelector("#mailpay-banner .mailpay-banner-status");
  return status ? status.textContent : null;
})()`;

async function run(tab, code) {
  const results = await browser.tabs.executeScript(tab, { code });
  return results[0];
}

const actions = {
  async open({ headerMessageId }) {
    const list = await browser.messages.query({ headerMessageId });
    if (list.messages.length === 0) {
      throw new Error(`no message ${headerMessageId}`);
    }
    const tab = await browser.messageDisplay.open({ messageId: list.messages[0].id, location: "tab", active: true });
    return { tab: tab.id };
  },
  async banner({ tab }) {
    return { text: await run(tab, BANNER_TEXT) };
  },
  async click({ tab }) {
    return { clicked: await run(tab, CLICK) };
  },
  async status({ tab }) {
    return { text: await run(tab, STATUS) };
  },
  async windows() {
    return { windows: (await browser.windows.getAll()).map((w) => w.type) };
  },
};

async function obey(order) {
  let answer;
  try {
    answer = await actions[order.type](order);
  } catch (e) {
    answer = { error: String(e && e.message ? e.message : e) };
  }
  port.postMessage({ id: order.id, ...answer });
}

// The test may install the host after Thunderbird started: try until it is there.
function connect() {
  port = browser.runtime.connectNative("org.mailpay.testprobe");
  port.onMessage.addListener(obey);
  port.onDisconnect.addListener(() => setTimeout(connect, 500));
  port.postMessage({ type: "ready" });
}

connect();
