// Unit tests of the add-on's pure parts (bridge.js, detect.js), run with
// Node's own test runner: `node --test tests/thunderbird/unit.js`.
// The files are loaded as Thunderbird loads them (plain scripts sharing
// one global scope), in a fresh context.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const test = require("node:test");
const vm = require("node:vm");

const ADDON = path.join(__dirname, "../../packaging/thunderbird/addon");

function load() {
  const context = vm.createContext({ btoa, atob, console, TextEncoder, TextDecoder, Uint8Array, ArrayBuffer });
  for (const file of ["bridge.js", "detect.js"]) {
    vm.runInContext(fs.readFileSync(path.join(ADDON, file), "utf8"), context, { filename: file });
  }
  // `const` declarations of a script live in the context's lexical scope.
  return vm.runInContext("({ MailPayBridge, MailPayDetect })", context);
}

const { MailPayBridge, MailPayDetect } = load();
// Objects made in the context have its prototypes: compare them as JSON.
const plain = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
const read = (message) => plain(MailPayBridge.read(message));
const frames = Object.fromEntries(Object.entries(MailPayBridge.frames).map(([k, f]) => [k, (...a) => plain(f(...a))]));

const SEND = {
  type: "send",
  request: "r-1",
  identity: "orderer@buyer.test",
  to: "bank@bank.test",
  subject: "MailPay payment request",
  body: "-----BEGIN MAILPAY PAYMENT-REQUEST-----\nVersion: 1\n-----END MAILPAY PAYMENT-REQUEST-----\n",
  reply_to: null,
  headers: [["X-MailPay-Kind", "payment-request"], ["X-MailPay-Version", "1"]],
  attachments: [{ name: "wallet.age", type: "application/vnd.mailpay.wallet+age", base64: "AAEC/w==" }],
};

test("a well-formed send is read, reply_to without angle brackets", () => {
  const { frame } = read({ ...SEND, reply_to: "<confirm.X.Y@bank.test>" });
  assert.equal(frame.request, "r-1");
  assert.equal(frame.replyTo, "confirm.X.Y@bank.test");
  assert.deepEqual(frame.headers[0], { name: "X-MailPay-Kind", value: "payment-request" });
  assert.equal(frame.attachments[0].base64, "AAEC/w==");
});

test("a send that names its request but is malformed is answered, not sent", () => {
  for (const bad of [
    { to: "bank@bank.test, shop@shop.test" },
    { to: "Bank <bank@bank.test>" },
    { identity: 7 },
    { headers: [["MailPay-Kind", "order"]] },
    { headers: [["X-Mozilla-Status", "1"]] },
    { headers: [["X-MailPay-Kind", "order\r\nBcc: someone@else.test"]] },
    { subject: "two\nlines" },
    { attachments: [{ name: "../wallet.age", type: "application/octet-stream", base64: "" }] },
    { attachments: [{ name: "wallet.age", type: "not a type", base64: "" }] },
    { attachments: [{ name: "wallet.age", type: "application/octet-stream", base64: "%%%" }] },
    { body: null },
  ]) {
    const result = read({ ...SEND, ...bad });
    assert.equal(result.frame, undefined, JSON.stringify(bad));
    assert.equal(result.request, "r-1", JSON.stringify(bad));
    assert.match(result.error, /^malformed send frame: /);
  }
});

test("a malformed frame without a request id gets no answer", () => {
  assert.deepEqual(read({ ...SEND, request: undefined }).request, null);
  assert.deepEqual(read({ ...SEND, request: "" }).request, null);
  assert.deepEqual(read("send").request, null);
  assert.deepEqual(read(null).request, null);
  assert.deepEqual(read([SEND]).request, null);
});

test("unknown types are told apart from malformed frames", () => {
  assert.deepEqual(read({ type: "frobnicate" }), { unknown: "frobnicate" });
  assert.deepEqual(read({ type: "toString" }), { unknown: "toString" });
  assert.ok(read({ type: 3 }).error);
});

test("welcome, taken and error are read", () => {
  assert.deepEqual(read({ type: "welcome", version: "1", account: null, standby: true, text: "t" }).frame, {
    type: "welcome", bridge: 1, version: "1", account: null, standby: true, text: "t",
  });
  assert.equal(read({ type: "welcome", version: "2.0", bridge: 2, account: null, standby: false, text: "" }).frame.bridge, 2);
  assert.ok(read({ type: "welcome", version: "1", bridge: "1", account: null, standby: false, text: "" }).error);
  const taken = read({ type: "taken", id: "12", outcome: "confirm-received", order: "7HTJ", review: true, text: "1,200 JPY" });
  assert.equal(taken.frame.review, true);
  assert.ok(read({ type: "taken", id: "x", outcome: "o", order: null, review: false, text: "" }).error);
  assert.ok(read({ type: "taken", id: "1", outcome: "o", order: null, review: "yes", text: "" }).error);
  assert.equal(read({ type: "error", text: "boom" }).frame.text, "boom");
});

test("the add-on's frames have the bridge's field names", () => {
  assert.deepEqual(frames.sent("r-1", "a@b"), { type: "sent", request: "r-1", message_id: "a@b" });
  assert.deepEqual(frames.sendFailed("r-1", "no", true), { type: "send-failed", request: "r-1", reason: "no", temporary: true });
  assert.deepEqual(frames.mail(5, "account1", "AA=="), { type: "mail", id: "5", account: "account1", raw: "AA==" });
  assert.deepEqual(frames.hello("0.1.0", [], "ja"), { type: "hello", version: "0.1.0", bridge: 1, identities: [], locale: "ja" });
});

test("MailPay mail is recognised by header, by block, and inside an attached mail", () => {
  const text = (body) => ({ contentType: "text/plain", headers: {}, body });
  assert.equal(MailPayDetect.isMailPay({ headers: { "mailpay-kind": ["confirm"] }, parts: [] }), true);
  assert.equal(MailPayDetect.isMailPay({ headers: { "X-MailPay-Order": ["7HTJ"] }, parts: [] }), true);
  assert.equal(MailPayDetect.isMailPay({ headers: { subject: ["MailPay"] }, parts: [text("-----BEGIN MAILPAY CONFIRM-----\n")] }), true);
  const attached = {
    headers: { subject: ["Fwd"] },
    contentType: "multipart/mixed",
    parts: [text("see attached"), { contentType: "message/rfc822", headers: {}, parts: [{ headers: { subject: ["x"] }, contentType: "text/plain", body: "> -----BEGIN MAILPAY ORDER-----" }] }],
  };
  assert.equal(MailPayDetect.isMailPay(attached), true);
  assert.equal(MailPayDetect.isMailPay({ headers: { subject: ["MailPay: pay by mail!"], "x-mailer": ["x"] }, parts: [text("-----BEGIN PGP SIGNED MESSAGE-----")] }), false);
  assert.equal(MailPayDetect.isMailPay({ headers: {}, parts: [{ contentType: "application/octet-stream", body: "-----BEGIN MAILPAY ORDER-----" }] }), false);
  const bounce = (returned) => ({
    headers: { from: ["MAILER-DAEMON@mail.test"] },
    contentType: "multipart/report",
    parts: [text("Undelivered Mail Returned to Sender"), { contentType: "message/delivery-status", headers: {} },
      { contentType: "text/rfc822-headers", headers: {}, body: returned }],
  });
  assert.equal(MailPayDetect.isMailPay(bounce("From: orderer@buyer.test\nMailPay-Kind: order\nSubject: x\n")), true);
  assert.equal(MailPayDetect.isMailPay(bounce("From: orderer@buyer.test\nSubject: MailPay-Kind: order\n")), false);
  let deep = text("-----BEGIN MAILPAY ORDER-----");
  for (let i = 0; i < 100; i++) {
    deep = { contentType: "multipart/mixed", headers: {}, parts: [deep] };
  }
  assert.equal(MailPayDetect.isMailPay(deep), false, "a tree deeper than 32 is not walked to the end");
});

test("attached mails getFull leaves closed are named, and their source read", () => {
  const full = {
    contentType: "message/rfc822",
    partName: "",
    headers: { subject: ["Fwd"] },
    parts: [{ contentType: "multipart/mixed", partName: "1", parts: [
      { contentType: "text/plain", partName: "1.1", body: "attached" },
      { contentType: "message/rfc822", partName: "1.2", name: "order.eml" },
    ] }],
  };
  assert.deepEqual(plain(MailPayDetect.closedAttachedMails(full)), ["1.2"]);
  assert.equal(MailPayDetect.rawMailIsMailPay("Subject: x\r\n\r\n-----BEGIN MAILPAY ORDER-----\r\n"), true);
  assert.equal(MailPayDetect.rawMailIsMailPay("Subject: x\r\nMailPay-Kind: order\r\n\r\nhello\r\n"), true);
  assert.equal(MailPayDetect.rawMailIsMailPay("Subject: x\nX-MailPay-Order : 7\n\nhello\n"), true);
  assert.equal(MailPayDetect.rawMailIsMailPay("Subject: x\r\n\r\nMailPay-Kind: order in the text\r\n"), false);
  assert.equal(MailPayDetect.rawMailIsMailPay("Subject: MailPay\r\nX-Mailer: MailPayroll\r\n\r\nhello"), false);
});

test("the first mailpay: link, from text before HTML", () => {
  const link = "mailpay:shop@example.com?amount=1200&currency=JPY";
  assert.equal(MailPayDetect.firstPayLink({ contentType: "text/plain", body: `Pay here: ${link}.` }), link);
  assert.equal(MailPayDetect.firstPayLink({ contentType: "text/plain", body: "MailPay: the bank asks you" }), null);
  const html = { contentType: "text/html", body: `<a href="${link.replace("&", "&amp;")}">Pay</a>` };
  assert.equal(MailPayDetect.firstPayLink({ contentType: "multipart/alternative", parts: [{ contentType: "text/plain", body: "no link" }, html] }), link);
  assert.equal(MailPayDetect.firstPayLink({ contentType: "text/html", body: "<p>mailpay:shop@example.com</p>" }), null, "HTML text is not a link, only hrefs are");
});

test("bytes survive base64 both ways, every value 0-255", () => {
  const bytes = new Uint8Array(70000).map((_, i) => i % 256);
  const text = MailPayDetect.bytesToBase64(bytes);
  assert.equal(text, Buffer.from(bytes).toString("base64"));
  assert.deepEqual(Buffer.from(MailPayDetect.base64ToBytes(text)), Buffer.from(bytes));
  const binary = String.fromCharCode(...bytes.subarray(0, 256));
  assert.equal(MailPayDetect.binaryStringToBase64(binary), Buffer.from(bytes.subarray(0, 256)).toString("base64"));
  assert.throws(() => MailPayDetect.binaryStringToBase64("支払い"));
});

test("Thunderbird's own status lines are dropped, nothing else", () => {
  const mail = "Return-Path: <bank@bank.test>\r\nX-Mozilla-Status: 0001\r\nSubject: x\r\n\r\nbody\r\n";
  const local = "X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys:                 \n" + mail;
  const strip = (text) => Buffer.from(MailPayDetect.withoutMozillaLines(new Uint8Array(Buffer.from(text)))).toString();
  assert.equal(strip(local), mail);
  assert.equal(strip(mail), mail);
  assert.equal(strip("X-Mozilla-Other: 1\n" + mail), "X-Mozilla-Other: 1\n" + mail);
});

test("author addresses are compared without the name", () => {
  assert.equal(MailPayDetect.addressOf("Orderer <Orderer@Buyer.test>"), "orderer@buyer.test");
  assert.equal(MailPayDetect.addressOf("orderer@buyer.test"), "orderer@buyer.test");
});
