/* MailPay for Thunderbird: the frames of the bridge to the native host.
 *
 * The host (the MailPay wallet's `mailpay-thunderbird`) decides; the add-on
 * carries. Every frame is one JSON object with a string `type`. This file
 * only checks the frames the host sends and builds the ones the add-on
 * sends: no browser API is used here, so it also runs under Node for the
 * unit tests (tests/thunderbird/unit.js).
 *
 * A frame the add-on does not know is refused: an unknown `type` is logged
 * and ignored, a known type with a missing or ill-typed field is a
 * malformed frame (a console error, no answer), except a `send` that names
 * its request, which is answered `send-failed` (not temporary), so the host
 * is never left waiting.
 */
"use strict";

/* exported MailPayBridge */
const MailPayBridge = (() => {
  /** The version of the bridge's messages this add-on speaks. */
  const BRIDGE = 1;
  /** The longest request id, order id or Thunderbird message id accepted. */
  const MAX_ID = 200;
  /** Header names the host may ask for (Thunderbird only sends X- headers). */
  const HEADER_NAME = /^X-[A-Za-z0-9][A-Za-z0-9-]{0,75}$/;
  /** One recipient, no display name, no list: `local@domain`. */
  const ADDRESS = /^[^\s@<>,;"()[\]\\]+@[^\s@<>,;"()[\]\\]+$/;
  const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

  class FrameError extends Error {}

  const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

  function string(frame, key, { optional = false, nullable = false, max = Infinity } = {}) {
    const value = frame[key];
    if (value === undefined && optional) {
      return null;
    }
    if (value === null && nullable) {
      return null;
    }
    if (typeof value !== "string") {
      throw new FrameError(`"${key}" must be a string`);
    }
    if (value.length > max) {
      throw new FrameError(`"${key}" is longer than ${max} characters`);
    }
    return value;
  }

  function id(frame, key, options = {}) {
    const value = string(frame, key, { ...options, max: MAX_ID });
    if (value !== null && (value === "" || /[\u0000-\u001f\u007f]/.test(value))) {
      throw new FrameError(`"${key}" must be a non-empty printable string`);
    }
    return value;
  }

  function boolean(frame, key) {
    if (typeof frame[key] !== "boolean") {
      throw new FrameError(`"${key}" must be true or false`);
    }
    return frame[key];
  }

  function oneLine(value, what) {
    if (/[\r\n\u0000]/.test(value)) {
      throw new FrameError(`${what} must be one line`);
    }
    return value;
  }

  function headers(frame) {
    const list = frame.headers === undefined || frame.headers === null ? [] : frame.headers;
    if (!Array.isArray(list)) {
      throw new FrameError('"headers" must be a list of [name, value] pairs');
    }
    return list.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
        throw new FrameError(`header ${i} must be a [name, value] pair of strings`);
      }
      const [name, value] = pair;
      if (!HEADER_NAME.test(name) || /^X-Mozilla-/i.test(name)) {
        throw new FrameError(`header name ${JSON.stringify(name)} is not an X- header Thunderbird can send`);
      }
      return { name, value: oneLine(value, `header ${name}`) };
    });
  }

  function attachments(frame) {
    const list = frame.attachments === undefined || frame.attachments === null ? [] : frame.attachments;
    if (!Array.isArray(list)) {
      throw new FrameError('"attachments" must be a list');
    }
    return list.map((attachment, i) => {
      if (!isObject(attachment)) {
        throw new FrameError(`attachment ${i} must be an object`);
      }
      const name = oneLine(string(attachment, "name", { max: 255 }), `attachment ${i}'s name`);
      const type = string(attachment, "type", { max: 255 });
      const base64 = string(attachment, "base64").replace(/\s+/g, "");
      if (name === "" || /[/\\]/.test(name)) {
        throw new FrameError(`attachment ${i} needs a file name without a path`);
      }
      if (!/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+$/.test(type)) {
        throw new FrameError(`attachment ${i}'s type ${JSON.stringify(type)} is not a MIME type`);
      }
      if (base64.length % 4 !== 0 || !BASE64.test(base64)) {
        throw new FrameError(`attachment ${i} is not valid base64`);
      }
      return { name, type, base64 };
    });
  }

  const readers = {
    welcome(frame) {
      const bridge = frame.bridge === undefined || frame.bridge === null ? BRIDGE : frame.bridge;
      if (!Number.isInteger(bridge) || bridge < 1) {
        throw new FrameError('"bridge" must be a version number');
      }
      return {
        type: "welcome",
        bridge,
        version: string(frame, "version", { max: MAX_ID }),
        account: string(frame, "account", { optional: true, nullable: true }),
        standby: boolean(frame, "standby"),
        text: string(frame, "text", { optional: true, nullable: true }) || "",
      };
    },
    taken(frame) {
      const messageId = id(frame, "id");
      if (!/^[0-9]+$/.test(messageId)) {
        throw new FrameError('"id" must be the id of a mail frame');
      }
      return {
        type: "taken",
        id: messageId,
        outcome: string(frame, "outcome", { max: MAX_ID }),
        order: id(frame, "order", { optional: true, nullable: true }),
        review: boolean(frame, "review"),
        text: string(frame, "text", { optional: true, nullable: true }) || "",
      };
    },
    send(frame) {
      const to = string(frame, "to", { max: 320 });
      if (!ADDRESS.test(to)) {
        throw new FrameError(`"to" must be one mail address, not ${JSON.stringify(to)}`);
      }
      const identity = string(frame, "identity", { max: 320 });
      if (!ADDRESS.test(identity)) {
        throw new FrameError(`"identity" must be a mail address, not ${JSON.stringify(identity)}`);
      }
      const replyTo = string(frame, "reply_to", { optional: true, nullable: true, max: 998 });
      return {
        type: "send",
        request: id(frame, "request"),
        identity,
        to,
        subject: oneLine(string(frame, "subject", { max: 998 }), '"subject"'),
        body: string(frame, "body"),
        replyTo: replyTo === null || replyTo.trim() === "" ? null : oneLine(replyTo.trim().replace(/^<|>$/g, ""), '"reply_to"'),
        headers: headers(frame),
        attachments: attachments(frame),
      };
    },
    error(frame) {
      return { type: "error", text: string(frame, "text") };
    },
  };

  /**
   * Reads a frame from the host. Returns one of
   *   { frame }                 a known, well-formed frame (fields renamed to camelCase),
   *   { unknown: type }         a frame of a type this add-on does not know,
   *   { error, request }        a malformed frame; `request` is the request id
   *                             of a `send` when it could be read, else null.
   */
  function read(message) {
    if (!isObject(message) || typeof message.type !== "string") {
      return { error: "a frame must be a JSON object with a string \"type\"", request: null };
    }
    const reader = Object.prototype.hasOwnProperty.call(readers, message.type) ? readers[message.type] : null;
    if (reader === null) {
      return { unknown: message.type };
    }
    try {
      return { frame: reader(message) };
    } catch (e) {
      if (!(e instanceof FrameError)) {
        throw e;
      }
      let request = null;
      if (message.type === "send") {
        try {
          request = id(message, "request");
        } catch (_) {
          request = null;
        }
      }
      return { error: `malformed ${message.type} frame: ${e.message}`, request };
    }
  }

  /** The frames the add-on sends. */
  const frames = {
    hello: (version, identities, locale) => ({ type: "hello", version, bridge: BRIDGE, identities, locale }),
    mail: (id, account, raw) => ({ type: "mail", id: String(id), account, raw }),
    sent: (request, messageId) => ({ type: "sent", request, message_id: messageId }),
    sendFailed: (request, reason, temporary) => ({ type: "send-failed", request, reason, temporary }),
    review: (order) => ({ type: "review", order }),
    pay: (link) => ({ type: "pay", link }),
  };

  /** A Message-ID without its angle brackets and surrounding space. */
  const bareMessageId = (value) => String(value).trim().replace(/^<|>$/g, "");

  return { BRIDGE, read, frames, bareMessageId };
})();
