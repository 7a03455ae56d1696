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
 *   {"id": 7, "type": "language"}                        -> {"id": 7, "ui": "ja"} (Thunderbird's own)
 *   {"id": 6, "type": "answer", "headerMessageId": "...",
 *    "how": "reply" | "forwardInline" | "forwardAsAttachment", "to": "..." (forwards),
 *    "plainText": true | false, "deliveryFormat": "auto" | "plaintext" | "html" | "both",
 *    "text": "lines\nthe person types", "where": "above" | "below", "label": "..."}
 *                                                        -> {"id": 6, "headerMessageId": "..."} (the mail sent)
 *
 * `answer` writes what a person writes: Thunderbird opens the reply or the
 * forward with its own quotation in the chosen editor, the text goes above
 * or below that quotation, and Thunderbird sends it in the chosen format,
 * with the header X-Corpus-Variant: label.
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

/** `text` typed into an HTML editor: one paragraph, a line break per line. */
function typedHtml(doc, text) {
  const paragraph = doc.createElement("p");
  text.split("\n").forEach((line, i) => {
    if (i > 0) {
      paragraph.appendChild(doc.createElement("br"));
    }
    paragraph.appendChild(doc.createTextNode(line));
  });
  return paragraph;
}

/** The message with this Message-ID, once Thunderbird has it (within 60 s). */
async function message(headerMessageId) {
  const until = Date.now() + 60000;
  for (;;) {
    const list = await browser.messages.query({ headerMessageId });
    if (list.messages.length > 0) {
      return list.messages[0];
    }
    if (Date.now() > until) {
      throw new Error(`no message ${headerMessageId}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function run(tab, code) {
  const results = await browser.tabs.executeScript(tab, { code });
  return results[0];
}

const actions = {
  async open({ headerMessageId }) {
    const found = await message(headerMessageId);
    const tab = await browser.messageDisplay.open({ messageId: found.id, location: "tab", active: true });
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
  async answer(order) {
    const original = (await message(order.headerMessageId)).id;
    const details = { isPlainText: order.plainText };
    let tab;
    if (order.how === "reply") {
      tab = await browser.compose.beginReply(original, "replyToSender", details);
    } else {
      tab = await browser.compose.beginForward(original, order.how, { ...details, to: [order.to] });
    }
    const composed = await browser.compose.getComposeDetails(tab.id);
    const change = {
      deliveryFormat: order.deliveryFormat,
      customHeaders: [{ name: "X-Corpus-Variant", value: order.label }],
    };
    if (composed.isPlainText) {
      const body = composed.plainTextBody.replace(/\s+$/, "");
      change.plainTextBody =
        order.where === "above" ? `${order.text}\n\n${body}\n` : `${body}\n\n${order.text}\n`;
    } else {
      const doc = new DOMParser().parseFromString(composed.body, "text/html");
      const typed = typedHtml(doc, order.text);
      if (order.where === "above") {
        doc.body.insertBefore(typed, doc.body.firstChild);
      } else {
        doc.body.appendChild(typed);
      }
      change.body = `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
    }
    await browser.compose.setComposeDetails(tab.id, change);
    const sent = await browser.compose.sendMessage(tab.id, { mode: "sendNow" });
    if (!sent || !sent.headerMessageId) {
      throw new Error("Thunderbird did not send the mail");
    }
    return { headerMessageId: sent.headerMessageId };
  },
  async language() {
    return { ui: browser.i18n.getUILanguage() };
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
