/* Test-only Experiment: at startup, before Thunderbird asks for a password,
 * stores the logins listed in <profile>/mailpay-test-logins.json:
 *
 *   [{"origin": "imap://127.0.0.1", "httpRealm": "imap://127.0.0.1",
 *     "username": "orderer@buyer.test", "password": "..."}, ...]
 *
 * A login already stored for the same origin, realm and user is left alone
 * (so a restarted profile keeps working). Thunderbird has no preference for
 * passwords; the harness in tests/support/thunderbird.rs writes the file and
 * installs this add-on. Never shipped.
 */
"use strict";

/* global ExtensionAPI, Services, IOUtils, PathUtils, Components */

var loginSeeder = class extends ExtensionAPI {
  onStartup() {
    const file = PathUtils.join(PathUtils.profileDir, "mailpay-test-logins.json");
    this.done = (async () => {
      if (!(await IOUtils.exists(file))) {
        dump("login-seeder: no mailpay-test-logins.json\n");
        return;
      }
      const logins = await IOUtils.readJSON(file);
      let added = 0;
      for (const entry of logins) {
        const existing = await Services.logins.searchLoginsAsync({
          origin: entry.origin,
          httpRealm: entry.httpRealm,
        });
        if (existing.some((login) => login.username === entry.username)) {
          continue;
        }
        const info = Components.classes["@mozilla.org/login-manager/loginInfo;1"].createInstance(
          Components.interfaces.nsILoginInfo,
        );
        info.init(entry.origin, null, entry.httpRealm, entry.username, entry.password, "", "");
        await Services.logins.addLoginAsync(info);
        added++;
      }
      dump(`login-seeder: ${added} login(s) added, ${logins.length - added} kept\n`);
    })().catch((e) => dump(`login-seeder: failed: ${e}\n`));
  }

  onShutdown() {}

  getAPI() {
    return { loginSeeder: {} };
  }
};
