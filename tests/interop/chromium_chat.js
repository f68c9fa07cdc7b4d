// Interop: headless Chromium (Debian's, driven by playwright-core) opens
// the websocket_chat example's page in two tabs; each sees the other's
// messages and the join/leave notices.
//
// Run by tests/websocket_interop.rs with the example's port:
//     node chromium_chat.js PORT
// CHROMIUM overrides the browser path (default /usr/bin/chromium).
"use strict";

const { chromium } = require("playwright-core");

const port = Number(process.argv[2]);
const base = `http://127.0.0.1:${port}/`;

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const context = await browser.newContext();
    const ann = await context.newPage();
    await ann.goto(base + "?name=ann");
    await ann.waitForSelector("#status:text('connected')", { timeout: 15000 });
    console.log("ok ann connected");
    // Chromium offers permessage-deflate and the example accepts it.
    const extensions = await ann.evaluate("ws.extensions");
    if (!extensions.includes("permessage-deflate")) {
      throw new Error(`permessage-deflate not negotiated: ${JSON.stringify(extensions)}`);
    }
    console.log(`ok permessage-deflate negotiated (${extensions})`);

    const bob = await context.newPage();
    await bob.goto(base + "?name=bob");
    await bob.waitForSelector("#status:text('connected')", { timeout: 15000 });
    await ann.waitForSelector("#log li:text('* bob joined')", { timeout: 15000 });
    console.log("ok ann sees bob join");

    await bob.fill("#msg", "hello from bob");
    await bob.press("#msg", "Enter");
    await ann.waitForSelector("#log li:text('bob: hello from bob')", { timeout: 15000 });
    await bob.waitForSelector("#log li:text('bob: hello from bob')", { timeout: 15000 });
    console.log("ok both tabs see bob's message");

    await ann.fill("#msg", "hi bob, ann here");
    await ann.click("button");
    await bob.waitForSelector("#log li:text('ann: hi bob, ann here')", { timeout: 15000 });
    console.log("ok bob sees ann's message");

    await bob.close();
    await ann.waitForSelector("#log li:text('* bob left')", { timeout: 15000 });
    console.log("ok ann sees bob leave");
    console.log("all ok");
  } finally {
    await browser.close();
  }
}

setTimeout(() => {
  console.log("FAIL timeout");
  process.exit(1);
}, 90000).unref();

main().catch((e) => {
  console.log(`FAIL ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
