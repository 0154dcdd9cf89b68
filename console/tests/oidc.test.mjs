// Issue 13.1: the console signs in through an OpenID Connect issuer (a fake one on loopback) against
// `smsdesk dev --oidc-issuer`, which checks the issuer's JWTs itself, and lists the agent's work.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeIssuer } from "./fake_issuer.mjs";
import { browser, Dev } from "./harness.mjs";

describe("console sign-in through an OpenID Connect issuer", () => {
  let issuer, dev;
  before(async () => {
    issuer = await FakeIssuer.start({ user: "oidc-user-ada", clientId: "smsdesk-console" });
    dev = await Dev.start(["--oidc-issuer", issuer.url, "--oidc-client-id", "smsdesk-console"]);
  });
  after(async () => {
    await dev?.close();
    await issuer?.close();
  });

  test("the agent signs in at the issuer (code + PKCE), comes back signed in and sees their work", async () => {
    assert.deepEqual(await (await fetch(`${dev.base}/console/config.json`)).json(), {
      sign_in: "oidc", issuer: issuer.url, client_id: "smsdesk-console", scopes: ["openid", "profile", "email"],
    });
    const queue = await dev.call("/v1/queues", { method: "POST", body: { name: "Support", auto_accept: true } });
    const channel = await dev.call("/v1/channels", {
      method: "POST",
      body: { name: "Demo", provider: "sandbox", numbers: [{ number: "15555550100", type: "geo", queue: queue.id }] },
    });
    const ada = await dev.call("/v1/agents", {
      method: "POST", body: { name: "Ada", queues: [queue.id], capacity: 5, subject: "oidc-user-ada" },
    });
    await dev.call(`/v1/agents/${ada.id}/presence`, { method: "POST", body: { status: "available" }, token: ada.token });
    await dev.text({ channel }, "+15555550142", "+15555550100", "Hello from an OIDC test");

    const b = await browser();
    try {
      const { page } = b;
      await page.goto(dev.base + "/");
      await page.locator("#oidc-signin").click();
      await page.locator("#live[data-state=live]").waitFor();
      await page.locator("#items li", { hasText: "+15555550142" }).waitFor();
      assert.match(await page.locator("body").textContent(), /Ada/);
      // The code is gone from the address; the exchange was a public client's, with the right verifier.
      assert.equal(new URL(page.url()).search, "");
      assert.deepEqual(issuer.exchanges, [{ pkceOk: true, client: "smsdesk-console", secret: false }]);
      // The kept token is the issuer's JWT, and smsdesk dev takes it as Ada.
      const token = await page.evaluate(() => sessionStorage.getItem("smsdesk.token"));
      assert.equal((await dev.call("/v1/me", { token })).agent_id, ada.id);
      // Signing out forgets it: the sign-in shows again.
      await page.locator("#signout").click();
      await page.locator("#oidc-signin").waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("smsdesk.token")), null);
    } finally {
      await b.close();
    }
  });
});
