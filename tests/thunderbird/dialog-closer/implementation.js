/* Test-only Experiment: a headless Thunderbird shows its modal dialogs to
 * nobody, and whatever opened one waits for ever (a failed send's error
 * alert, a password prompt). From startup on, every common dialog is
 * printed to stdout as one line
 *
 *   dialog-closer: <promptType> "<title>" "<text>" -> accepted|cancelled
 *
 * and closed as a user would: an alert with OK, Thunderbird's attachment
 * reminder with "No, Send Now" (a MailPay mail has no attachment to forget:
 * the reminder comes up when a random code holds a keyword such as "CV"
 * between digits), anything else (a password prompt, a question) with
 * Cancel. The harness in tests/support/thunderbird.rs installs it; never
 * shipped.
 */
"use strict";

/* global ExtensionAPI, Services */

const TOPIC = "common-dialog-loaded";

const observer = {
  observe(subject) {
    const win = subject;
    let args = {};
    try {
      args = (win.Dialog && win.Dialog.args) || win.args || {};
    } catch (_) {
      args = {};
    }
    const type = String(args.promptType || "unknown");
    const title = String(args.title || "").replace(/\s+/g, " ");
    const text = String(args.text || "").replace(/\s+/g, " ");
    const dialog = win.document && win.document.getElementById("commonDialog");
    let how = "left open";
    if (dialog) {
      if (type === "alert" || type === "alertCheck" || title === "Attachment Reminder") {
        dialog.acceptDialog();
        how = "accepted";
      } else {
        dialog.cancelDialog();
        how = "cancelled";
      }
    }
    dump(`dialog-closer: ${type} ${JSON.stringify(title)} ${JSON.stringify(text)} -> ${how}\n`);
  },
};

var dialogCloser = class extends ExtensionAPI {
  onStartup() {
    Services.obs.addObserver(observer, TOPIC);
  }

  onShutdown(isAppShutdown) {
    if (!isAppShutdown) {
      Services.obs.removeObserver(observer, TOPIC);
    }
  }

  getAPI() {
    return { dialogCloser: {} };
  }
};
