/* MailPay for Thunderbird: the background page.
 *
 * Carries mail between Thunderbird and the MailPay wallet's native host
 * (`org.mailpay.wallet`), which decides everything:
 *
 *  - MailPay mails arriving in any of the user's folders (other than the
 *    ones the user writes: Sent, Drafts, Templates, Outbox, Trash) go to the
 *    host as `mail` frames with their raw bytes. Other mail never leaves
 *    Thunderbird: a mail is looked at (headers and text parts) and only
 *    fetched whole once it is known to be MailPay's.
 *  - The host's `send` requests go out through the user's own account, as
 *    a reply when the host names the mail answered; the answer is `sent` or
 *    `send-failed`.
 *  - A mail the host says needs the user's review, and a mail holding a
 *    `mailpay:` link, get a banner and the message display button; a click
 *    goes to the host as `review` or `pay`.
 *
 * The frames are in bridge.js, the recognition of MailPay mail in detect.js.
 */
"use strict";

/* global MailPayBridge, MailPayDetect */

const HOST = "org.mailpay.wallet";
const VERSION = browser.runtime.getManifest().version;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
/** Mails waiting for the host (while it is away), at most this many. */
const MAX_PENDING = 1000;
/** Answers kept in storage.local (sent requests, reviews), at most this many each. */
const MAX_KEPT = 500;
/** Folders holding what the user writes: never MailPay mail for the wallet. */
const OWN_FOLDERS = new Set(["sent", "drafts", "templates", "outbox", "trash"]);

const log = {
  info: (...args) => console.info("mailpay:", ...args),
  warn: (...args) => console.warn("mailpay:", ...args),
  error: (...args) => console.error("mailpay:", ...args),
};

const connection = {
  port: null,
  /** The host's welcome on this connection (null until it came). */
  welcome: null,
  backoff: BACKOFF_FIRST_MS,
  timer: null,
  /** Said once: the host is not installed (or cannot start). */
  absentLogged: false,
};

/**
 * Mails waiting for the host's `taken`: Thunderbird message id (string) ->
 * { account, key }. Kept in storage.local too (under `key`, by Message-ID),
 * since Thunderbird's message ids last one session: a mail found while the
 * wallet was away is handed over even after Thunderbird restarted.
 */
const pending = new Map();
/** Answers to `send` made while the host was away, sent after its welcome. */
const outbox = [];
/** Request ids of `send` frames being carried out now. */
const sending = new Set();

// ---------------------------------------------------------------- the host ---

function connect() {
  connection.timer = null;
  let port;
  try {
    port = browser.runtime.connectNative(HOST);
  } catch (e) {
    hostGone(null, e.message);
    return;
  }
  connection.port = port;
  connection.welcome = null;
  port.onMessage.addListener((message) => {
    if (connection.port === port) {
      received(message).catch((e) => log.error("handling a frame from the host failed:", e));
    }
  });
  port.onDisconnect.addListener((p) => {
    if (connection.port === port) {
      hostGone(port, p.error ? p.error.message : null);
    }
  });
  sayHello();
}

function hostGone(port, reason) {
  const hadWelcome = connection.welcome !== null;
  connection.port = null;
  connection.welcome = null;
  if (hadWelcome) {
    log.info(`the wallet went away${reason ? ` (${reason})` : ""}; reconnecting`);
  } else if (!connection.absentLogged) {
    connection.absentLogged = true;
    log.info(`the MailPay wallet is not reachable${reason ? ` (${reason})` : ""}; trying again in the background`);
  }
  if (port !== null) {
    try {
      port.disconnect();
    } catch (_) {
      // Already closed.
    }
  }
  const delay = connection.backoff;
  connection.backoff = Math.min(connection.backoff * 2, BACKOFF_MAX_MS);
  clearTimeout(connection.timer);
  connection.timer = setTimeout(connect, delay);
}

function post(frame) {
  if (connection.port === null) {
    return false;
  }
  try {
    connection.port.postMessage(frame);
    return true;
  } catch (e) {
    log.warn(`cannot write a ${frame.type} frame to the wallet:`, e.message);
    return false;
  }
}

/** Whether the host welcomed this connection, holds the wallet and speaks our bridge. */
const active = () =>
  connection.port !== null &&
  connection.welcome !== null &&
  !connection.welcome.standby &&
  connection.welcome.bridge === MailPayBridge.BRIDGE;

async function identities() {
  const accounts = await browser.accounts.list(false);
  const list = [];
  for (const account of accounts) {
    for (const identity of account.identities || []) {
      if (identity.email) {
        list.push({ id: identity.id, email: identity.email, account: account.id });
      }
    }
  }
  return list;
}

let helloTimer = null;

function sayHello() {
  clearTimeout(helloTimer);
  helloTimer = null;
  identities()
    .then((list) => post(MailPayBridge.frames.hello(VERSION, list, browser.i18n.getUILanguage())))
    .catch((e) => log.error("cannot list the accounts' identities:", e));
}

/** Accounts or identities changed: tell the host (once for a burst of changes). */
function identitiesChanged() {
  if (connection.port !== null) {
    clearTimeout(helloTimer);
    helloTimer = setTimeout(sayHello, 300);
  }
}

async function received(message) {
  const read = MailPayBridge.read(message);
  if (read.unknown !== undefined) {
    log.warn(`ignoring a frame of unknown type ${JSON.stringify(read.unknown)} from the wallet`);
    return;
  }
  if (read.error !== undefined) {
    log.error(`the wallet sent a ${read.error}`);
    if (read.request !== null) {
      answer(MailPayBridge.frames.sendFailed(read.request, `bad request: ${read.error}`, false));
    }
    return;
  }
  const frame = read.frame;
  switch (frame.type) {
    case "welcome":
      return welcomed(frame);
    case "taken":
      return taken(frame);
    case "send":
      if (connection.welcome !== null && connection.welcome.bridge !== MailPayBridge.BRIDGE) {
        post(MailPayBridge.frames.sendFailed(frame.request, "the wallet speaks another version of the bridge", false));
        return;
      }
      return sendInTurn(frame);
    case "error":
      log.error("the wallet says:", frame.text);
      return;
  }
}

function welcomed(frame) {
  const first = connection.welcome === null;
  connection.welcome = frame;
  connection.backoff = BACKOFF_FIRST_MS;
  connection.absentLogged = false;
  if (frame.bridge !== MailPayBridge.BRIDGE) {
    if (first) {
      log.error(
        `the wallet ${frame.version} speaks version ${frame.bridge} of the bridge, this add-on version ${MailPayBridge.BRIDGE}: update the one that is older`,
      );
    }
    return;
  }
  if (frame.standby) {
    if (first) {
      log.info("another Thunderbird holds the wallet; this one stays quiet");
    }
    // That one hands the wallet these mails.
    forgetAll().catch((e) => log.error("cannot forget the waiting mails:", e.message || e));
    return;
  }
  if (first) {
    log.info(`connected to the wallet ${frame.version}${frame.account ? ` (${frame.account})` : ""}`);
  }
  while (outbox.length > 0 && post(outbox[0])) {
    outbox.shift();
  }
  for (const id of [...pending.keys()]) {
    forward(id).catch((e) => log.error(`cannot hand message ${id} to the wallet:`, e.message || e));
  }
}

// ------------------------------------------------------------ mail coming in ---

function ownFolder(folder) {
  if (!folder) {
    return false;
  }
  const uses = Array.isArray(folder.specialUse) ? folder.specialUse : [];
  return uses.some((use) => OWN_FOLDERS.has(use)) || OWN_FOLDERS.has(folder.type);
}

async function newMail(folder, messageList) {
  if (ownFolder(folder)) {
    return;
  }
  const own = new Set((await identities()).map((identity) => identity.email.toLowerCase()));
  let list = messageList;
  for (;;) {
    for (const message of list.messages) {
      try {
        await consider(message, own);
      } catch (e) {
        log.error(`cannot read message ${message.id}:`, e.message || e);
      }
    }
    if (!list.id) {
      break;
    }
    list = await browser.messages.continueList(list.id);
  }
}

async function consider(message, own) {
  if (ownFolder(message.folder) || own.has(MailPayDetect.addressOf(message.author))) {
    return;
  }
  if (!(await isMailPay(message.id))) {
    return;
  }
  const id = String(message.id);
  if (connection.welcome !== null && connection.welcome.standby) {
    return;
  }
  await remember(id, message.folder ? message.folder.accountId : null, message.headerMessageId);
  if (active()) {
    await forward(id);
  } else {
    log.info(`MailPay mail <${MailPayBridge.bareMessageId(message.headerMessageId || "")}> waits for the wallet`);
  }
}

const pendingKey = (headerMessageId) => `pending:${MailPayBridge.bareMessageId(headerMessageId || "")}`;

async function remember(id, account, headerMessageId) {
  if (!pending.has(id) && pending.size >= MAX_PENDING) {
    const oldest = pending.keys().next().value;
    await forget(oldest);
    log.warn(`too many mails wait for the wallet; message ${oldest} will not be handed over`);
  }
  const key = pendingKey(headerMessageId);
  pending.set(id, { account, key });
  await browser.storage.local.set({ [key]: { account, at: Date.now() } });
}

async function forget(id) {
  const entry = pending.get(id);
  pending.delete(id);
  if (entry) {
    await browser.storage.local.remove(entry.key);
  }
}

async function forgetAll() {
  pending.clear();
  const all = await browser.storage.local.get(null);
  await browser.storage.local.remove(Object.keys(all).filter((key) => key.startsWith("pending:")));
}

/** At start: the mails still waiting from an earlier session, found again by Message-ID. */
async function restorePending() {
  const all = await browser.storage.local.get(null);
  for (const [key, value] of Object.entries(all)) {
    if (!key.startsWith("pending:")) {
      continue;
    }
    const found = await messageWithId(key.slice("pending:".length)).catch(() => null);
    if (found === null || ownFolder(found.folder)) {
      await browser.storage.local.remove(key);
      continue;
    }
    const id = String(found.id);
    pending.set(id, { account: value.account || (found.folder ? found.folder.accountId : null), key });
    if (active()) {
      await forward(id);
    }
  }
}

/** An attached mail larger than this is not opened to look for MailPay. */
const MAX_ATTACHED_MAIL = 4 << 20;

/**
 * Whether a mail is MailPay's, looking only at this mail's own parts
 * inside Thunderbird: its headers and text, then the mails attached to it.
 */
async function isMailPay(messageId) {
  const full = await browser.messages.getFull(messageId);
  if (MailPayDetect.isMailPay(full)) {
    return true;
  }
  for (const partName of MailPayDetect.closedAttachedMails(full)) {
    try {
      const file = await browser.messages.getAttachmentFile(messageId, partName);
      if (file.size <= MAX_ATTACHED_MAIL && MailPayDetect.rawMailIsMailPay(await file.text())) {
        return true;
      }
    } catch (e) {
      log.warn(`cannot open the mail attached to message ${messageId} (part ${partName}):`, e.message || e);
    }
  }
  return false;
}

/** Hands one waiting mail to the host, raw, as Thunderbird has it. */
async function forward(id) {
  if (!pending.has(id)) {
    return;
  }
  let file;
  try {
    file = await browser.messages.getRaw(Number(id), { data_format: "File" });
  } catch (e) {
    await forget(id);
    log.warn(`message ${id} is gone before the wallet took it:`, e.message || e);
    return;
  }
  const raw = MailPayDetect.bytesToBase64(MailPayDetect.withoutMozillaLines(new Uint8Array(await file.arrayBuffer())));
  if (active() && pending.has(id)) {
    post(MailPayBridge.frames.mail(id, pending.get(id).account, raw));
  }
}

async function taken(frame) {
  await forget(frame.id);
  let message;
  try {
    message = await browser.messages.get(Number(frame.id));
  } catch (e) {
    message = null;
  }
  if (!message || !message.headerMessageId) {
    if (frame.review) {
      log.warn(`the wallet asks to review message ${frame.id}, which Thunderbird no longer has`);
    }
    return;
  }
  const key = `review:${MailPayBridge.bareMessageId(message.headerMessageId)}`;
  if (frame.review && frame.order !== null) {
    await browser.storage.local.set({ [key]: { order: frame.order, text: frame.text, at: Date.now() } });
    await prune("review:");
  } else {
    await browser.storage.local.remove(key);
  }
  await refreshDisplays();
}

/** Keeps at most MAX_KEPT entries under a key prefix, the newest. */
async function prune(prefix) {
  const all = await browser.storage.local.get(null);
  const keys = Object.keys(all).filter((key) => key.startsWith(prefix));
  if (keys.length > MAX_KEPT) {
    keys.sort((a, b) => (all[a].at || 0) - (all[b].at || 0));
    await browser.storage.local.remove(keys.slice(0, keys.length - MAX_KEPT));
  }
}

// -------------------------------------------------------------- mail going out ---

function answer(frame) {
  if (!(active() && post(frame))) {
    outbox.push(frame);
  }
}

class Refused extends Error {}

async function identityFor(address) {
  const wanted = address.toLowerCase();
  const match = (await identities()).find((identity) => identity.email.toLowerCase() === wanted);
  if (!match) {
    throw new Refused(`no identity of this Thunderbird sends as ${address}`);
  }
  return match;
}

async function messageWithId(headerMessageId) {
  const list = await browser.messages.query({ headerMessageId });
  const found = list.messages || [];
  return found.find((message) => !ownFolder(message.folder)) || found[0] || null;
}

/**
 * One send at a time. Thunderbird 153 sends two mails composed at the same
 * moment over one SMTP connection and then waits for ever on the second
 * one's DATA (the server logs "lost connection after DATA (0 bytes)" when
 * Thunderbird gives up, 100 s later); in turn, each takes about half a
 * second.
 */
let sendQueue = Promise.resolve();

function sendInTurn(frame) {
  const turn = sendQueue.then(() => send(frame));
  sendQueue = turn.catch(() => {});
  return turn;
}

async function send(frame) {
  const done = `sent:${frame.request}`;
  const before = (await browser.storage.local.get(done))[done];
  if (before) {
    // Sent already: the host asks again (it restarted, or missed the answer).
    answer(MailPayBridge.frames.sent(frame.request, before.message_id));
    return;
  }
  if (sending.has(frame.request)) {
    return;
  }
  sending.add(frame.request);
  let tab = null;
  let stage = "prepare";
  try {
    const identity = await identityFor(frame.identity);
    let files;
    try {
      files = frame.attachments.map(
        (a) => ({ file: new File([MailPayDetect.base64ToBytes(a.base64)], a.name, { type: a.type }) }),
      );
    } catch (e) {
      throw new Refused(`an attachment cannot be read: ${e.message}`);
    }
    const details = {
      identityId: identity.id,
      to: [frame.to],
      subject: frame.subject,
      plainTextBody: frame.body,
      isPlainText: true,
      customHeaders: frame.headers,
    };
    stage = "compose";
    const original = frame.replyTo === null ? null : await messageWithId(frame.replyTo);
    if (original !== null) {
      tab = await browser.compose.beginReply(original.id, "replyToSender", details);
    } else {
      if (frame.replyTo !== null) {
        log.info(`the mail answered (${frame.replyTo}) is not in Thunderbird; sending a new mail`);
      }
      tab = await browser.compose.beginNew(details);
    }
    // Attached once the window is up, not through the details: Thunderbird
    // then sees the attachment when it checks the text for words such as
    // "attached" (the wallet cheque's mail has them), and does not ask
    // whether one was forgotten.
    for (const attachment of files) {
      await browser.compose.addAttachment(tab.id, attachment);
    }
    // A reply may come with a quotation or a signature: the host's body is
    // the whole body.
    const composed = await browser.compose.getComposeDetails(tab.id);
    if (normalized(composed.plainTextBody) !== normalized(frame.body)) {
      log.info(`request ${frame.request}: Thunderbird added text of its own (a quotation or signature); sending the wallet's text alone`);
      await browser.compose.setComposeDetails(tab.id, { plainTextBody: frame.body, isPlainText: true });
    }
    stage = "send";
    const result = await browser.compose.sendMessage(tab.id, { mode: "sendNow" });
    const messageId = MailPayBridge.bareMessageId(result && result.headerMessageId ? result.headerMessageId : "");
    if (messageId === "") {
      // What Thunderbird reports when the server or the network refused the
      // mail (it has shown the user its own error message).
      throw new Error("Thunderbird could not send the mail: the mail server or the network refused it");
    }
    tab = null;
    await browser.storage.local.set({ [done]: { message_id: messageId, at: Date.now() } });
    await prune("sent:");
    answer(MailPayBridge.frames.sent(frame.request, messageId));
  } catch (e) {
    const reason = e && e.message ? e.message : String(e);
    const temporary = !(e instanceof Refused) && stage === "send";
    log.warn(`request ${frame.request} not sent (${stage}): ${reason}`);
    answer(MailPayBridge.frames.sendFailed(frame.request, reason, temporary));
  } finally {
    sending.delete(frame.request);
    if (tab !== null) {
      await closeCompose(tab);
    }
  }
}

const normalized = (text) => String(text || "").replace(/\r\n/g, "\n").replace(/\s+$/, "");

/** Closes a compose window that did not send, without asking to save it. */
async function closeCompose(tab) {
  try {
    await browser.compose.setComposeDetails(tab.id, { isModified: false });
  } catch (_) {
    // Older Thunderbird: closing may then keep a draft prompt hidden.
  }
  try {
    await browser.windows.remove(tab.windowId);
  } catch (e) {
    log.warn("cannot close a compose window that did not send:", e.message || e);
  }
}

// --------------------------------------------------- banner and display button ---

/** What the user can do with a displayed mail: review it, pay its link, or nothing. */
async function actionFor(message) {
  if (!message) {
    return null;
  }
  const key = `review:${MailPayBridge.bareMessageId(message.headerMessageId || "")}`;
  const review = (await browser.storage.local.get(key))[key];
  if (review) {
    return { kind: "review", order: review.order, text: review.text };
  }
  try {
    const link = MailPayDetect.firstPayLink(await browser.messages.getFull(message.id));
    return link === null ? null : { kind: "pay", link };
  } catch (_) {
    return null;
  }
}

async function actionForTab(tabId) {
  return actionFor(await browser.messageDisplay.getDisplayedMessage(tabId));
}

async function showAction(tabId, action) {
  if (action === null) {
    await browser.messageDisplayAction.disable(tabId);
    return;
  }
  const label = browser.i18n.getMessage(action.kind === "review" ? "reviewButton" : "payButton");
  await browser.messageDisplayAction.setLabel({ tabId, label });
  await browser.messageDisplayAction.enable(tabId);
}

async function displayed(tab, message) {
  try {
    await showAction(tab.id, await actionFor(message));
  } catch (e) {
    log.warn("cannot update the MailPay button:", e.message || e);
  }
}

/** The user clicked: hand the action to the host. */
async function act(tabId) {
  const action = await actionForTab(tabId);
  if (action === null) {
    return { ok: false, reason: browser.i18n.getMessage("nothingToDo") };
  }
  const frame = action.kind === "review" ? MailPayBridge.frames.review(action.order) : MailPayBridge.frames.pay(action.link);
  if (!(connection.welcome !== null && post(frame))) {
    return { ok: false, reason: browser.i18n.getMessage("walletNotRunning") };
  }
  return { ok: true };
}

/** A review came or went: redraw the banners and buttons of open messages. */
async function refreshDisplays() {
  const tabs = await browser.tabs.query({});
  for (const tab of tabs) {
    if (tab.type !== "mail" && tab.type !== "messageDisplay") {
      continue;
    }
    try {
      const message = await browser.messageDisplay.getDisplayedMessage(tab.id);
      if (message) {
        await showAction(tab.id, await actionFor(message));
        await browser.tabs.sendMessage(tab.id, { type: "mailpay-refresh" }).catch(() => {});
      }
    } catch (_) {
      // A tab without a displayed message.
    }
  }
}

function fromBanner(message, sender) {
  if (sender.id !== browser.runtime.id || !sender.tab || message === null || typeof message !== "object") {
    return undefined;
  }
  if (message.type === "mailpay-banner-query") {
    return actionForTab(sender.tab.id);
  }
  if (message.type === "mailpay-banner-click") {
    return act(sender.tab.id);
  }
  return undefined;
}

// ------------------------------------------------------------------ start ---

function start() {
  browser.messages.onNewMailReceived.addListener((folder, list) => {
    newMail(folder, list).catch((e) => log.error("cannot look at new mail:", e.message || e));
  }, true);
  for (const event of [
    browser.accounts.onCreated,
    browser.accounts.onDeleted,
    browser.accounts.onUpdated,
    browser.identities && browser.identities.onCreated,
    browser.identities && browser.identities.onDeleted,
    browser.identities && browser.identities.onUpdated,
  ]) {
    if (event) {
      event.addListener(identitiesChanged);
    }
  }
  browser.runtime.onMessage.addListener(fromBanner);
  browser.messageDisplay.onMessageDisplayed.addListener(displayed);
  browser.messageDisplayAction.onClicked.addListener((tab) => {
    act(tab.id).catch((e) => log.error("cannot hand the click to the wallet:", e.message || e));
  });
  browser.messageDisplayAction.disable().catch(() => {});
  browser.messageDisplayScripts
    .register({ js: [{ file: "display/banner.js" }], css: [{ file: "display/banner.css" }] })
    .catch((e) => log.error("cannot register the MailPay banner:", e.message || e));
  restorePending().catch((e) => log.error("cannot find the mails that waited for the wallet:", e.message || e));
  connect();
}

start();
