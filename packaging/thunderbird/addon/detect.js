/* MailPay for Thunderbird: which mails are MailPay's, and the bytes of a mail.
 *
 * Pure functions over what messages.getFull returns (a tree of MIME parts)
 * and over bytes; no browser API is used here, so this file also runs under
 * Node for the unit tests (tests/thunderbird/unit.js).
 */
"use strict";

/* exported MailPayDetect */
const MailPayDetect = (() => {
  /** How every MailPay block starts (PROTOCOL.md, section 3.2). */
  const BLOCK = "-----BEGIN MAILPAY ";
  /** Deeper trees are not walked (a mail nesting mails without end). */
  const MAX_DEPTH = 32;

  const contentType = (part) => String(part.contentType || "").toLowerCase();

  function hasMailPayHeader(headers) {
    if (headers === null || typeof headers !== "object") {
      return false;
    }
    return Object.keys(headers).some((name) => {
      const lower = name.toLowerCase();
      return lower.startsWith("mailpay-") || lower.startsWith("x-mailpay-");
    });
  }

  /**
   * Whether a mail is MailPay's: a header named MailPay-* or X-MailPay-* (in
   * any case), or a text part holding a MailPay block, in the mail itself
   * or in a mail attached to it (message/rfc822 parts are walked too, and
   * the returned headers of a bounce, text/rfc822-headers).
   */
  function isMailPay(part, depth = 0) {
    if (part === null || typeof part !== "object" || depth > MAX_DEPTH) {
      return false;
    }
    if (hasMailPayHeader(part.headers)) {
      return true;
    }
    const type = contentType(part);
    if (type.startsWith("text/") && typeof part.body === "string") {
      if (part.body.includes(BLOCK) || (type === "text/rfc822-headers" && rawMailIsMailPay(part.body))) {
        return true;
      }
    }
    return Array.isArray(part.parts) && part.parts.some((child) => isMailPay(child, depth + 1));
  }

  /**
   * The part names of attached mails that getFull leaves closed (a
   * message/rfc822 attachment comes without its parts): the caller reads
   * them with messages.getAttachmentFile and asks `rawMailIsMailPay`.
   */
  function closedAttachedMails(part, depth = 0, out = []) {
    if (part === null || typeof part !== "object" || depth > MAX_DEPTH) {
      return out;
    }
    const hasParts = Array.isArray(part.parts) && part.parts.length > 0;
    if (contentType(part) === "message/rfc822" && !hasParts && typeof part.partName === "string" && part.partName !== "") {
      out.push(part.partName);
    }
    if (hasParts) {
      part.parts.forEach((child) => closedAttachedMails(child, depth + 1, out));
    }
    return out;
  }

  /** Whether a mail's source text is MailPay's: a MailPay header, or a block. */
  function rawMailIsMailPay(text) {
    const source = String(text);
    const end = source.search(/\r?\n\r?\n/);
    const head = end < 0 ? source : source.slice(0, end);
    return /^(x-)?mailpay-[a-z0-9-]*\s*:/im.test(head) || source.includes(BLOCK);
  }

  /** A `mailpay:` URI as written in text: ends at space, quote or bracket. */
  const TEXT_LINK = /\bmailpay:[^\s<>"'`()[\]{}]+/gi;
  const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi;
  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'" };

  function cleanLink(link) {
    // Sentence punctuation after a link in text is not part of it.
    const trimmed = link.replace(/[.,;:!?]+$/, "");
    // "mailpay:" alone, or followed by something that is no payee, is no link.
    return /^mailpay:[^\s]+@/i.test(trimmed) || /^mailpay:[^\s?]{3,}/i.test(trimmed) ? trimmed : null;
  }

  function decodeEntities(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
      const lower = name.toLowerCase();
      if (lower.startsWith("#x")) {
        return String.fromCodePoint(parseInt(lower.slice(2), 16));
      }
      if (lower.startsWith("#")) {
        return String.fromCodePoint(parseInt(lower.slice(1), 10));
      }
      return Object.prototype.hasOwnProperty.call(ENTITIES, lower) ? ENTITIES[lower] : whole;
    });
  }

  function textParts(part, type, depth, out) {
    if (part === null || typeof part !== "object" || depth > MAX_DEPTH) {
      return out;
    }
    if (contentType(part).startsWith(type) && typeof part.body === "string") {
      out.push(part.body);
    }
    if (Array.isArray(part.parts)) {
      part.parts.forEach((child) => textParts(child, type, depth + 1, out));
    }
    return out;
  }

  /**
   * The first `mailpay:` link of a mail: in its plain text parts first, then
   * among the href targets of its HTML parts. Null when there is none.
   */
  function firstPayLink(part) {
    for (const text of textParts(part, "text/plain", 0, [])) {
      for (const match of text.matchAll(TEXT_LINK)) {
        const link = cleanLink(match[0]);
        if (link !== null) {
          return link;
        }
      }
    }
    for (const html of textParts(part, "text/html", 0, [])) {
      for (const match of html.matchAll(HREF)) {
        const target = decodeEntities(match[1] ?? match[2] ?? match[3] ?? "").trim();
        if (/^mailpay:/i.test(target)) {
          const link = cleanLink(target);
          if (link !== null) {
            return link;
          }
        }
      }
    }
    return null;
  }

  /** The address in an author string such as `Name <a@b>`, lower-cased. */
  function addressOf(author) {
    const text = String(author || "");
    const angle = text.match(/<([^<>]+)>\s*$/);
    return (angle ? angle[1] : text).trim().toLowerCase();
  }

  /**
   * The mail as the server has it: Thunderbird's local copy starts with its
   * own status lines (X-Mozilla-Status, X-Mozilla-Status2, X-Mozilla-Keys,
   * ended by a bare LF), which were never part of the mail. Only that
   * leading run is dropped; the rest is left byte for byte.
   */
  function withoutMozillaLines(bytes) {
    const PREFIX = [88, 45, 77, 111, 122, 105, 108, 108, 97, 45]; // "X-Mozilla-"
    const NAMES = ["X-Mozilla-Status:", "X-Mozilla-Status2:", "X-Mozilla-Keys:"];
    let start = 0;
    for (;;) {
      if (!PREFIX.every((byte, i) => bytes[start + i] === byte)) {
        break;
      }
      const end = bytes.indexOf(10, start);
      if (end < 0) {
        break;
      }
      const line = String.fromCharCode.apply(null, bytes.subarray(start, Math.min(end, start + 40)));
      if (!NAMES.some((name) => line.startsWith(name))) {
        break;
      }
      start = end + 1;
    }
    return bytes.subarray(start);
  }

  /** Base64 of bytes (a Uint8Array or ArrayBuffer), every value 0-255 kept. */
  function bytesToBase64(input) {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    const CHUNK = 0x8000;
    let binary = "";
    for (let i = 0; i < bytes.length; i += CHUNK) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
    }
    return btoa(binary);
  }

  /** Base64 of a binary string (one char per byte); refuses wider chars. */
  function binaryStringToBase64(binary) {
    if (/[^\u0000-\u00ff]/.test(binary)) {
      throw new Error("not a binary string: a character above U+00FF");
    }
    return btoa(binary);
  }

  /** The bytes of base64 text (white space ignored). Throws on bad input. */
  function base64ToBytes(text) {
    const binary = atob(String(text).replace(/\s+/g, ""));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  return { isMailPay, closedAttachedMails, rawMailIsMailPay, firstPayLink, addressOf, withoutMozillaLines, bytesToBase64, binaryStringToBase64, base64ToBytes };
})();
