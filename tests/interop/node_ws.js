// Interop: the Node `ws` client against our websocket:// server.
//
// Run by tests/websocket_interop.rs with the server's port:
//     node node_ws.js PORT
// Same server as python_websockets.py. Prints one line per check; exits
// non-zero on the first failure.
"use strict";

const WebSocket = require("ws");

const port = Number(process.argv[2]);
const base = `ws://127.0.0.1:${port}`;

function check(name, ok, detail) {
  if (!ok) {
    console.log(`FAIL ${name} ${detail === undefined ? "" : detail}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

function open(path, protocols) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, protocols);
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once("message", (data, isBinary) => resolve({ data, isBinary }));
    ws.once("close", (code, reason) => reject({ code, reason: reason.toString() }));
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function main() {
  const ws = await open("/echo");
  check("permessage-deflate negotiated", ws.extensions.includes("permessage-deflate"), ws.extensions);

  ws.send("héllo");
  let m = await next(ws);
  check("text", !m.isBinary && m.data.toString() === "héllo");

  ws.send(Buffer.from([0, 1, 255]));
  m = await next(ws);
  check("binary", m.isBinary && Buffer.compare(m.data, Buffer.from([0, 1, 255])) === 0);

  const big = Buffer.alloc(1 << 20, 7);
  ws.send(big);
  m = await next(ws);
  check("binary 1 MiB", m.isBinary && Buffer.compare(m.data, big) === 0);

  ws.send("frag", { fin: false });
  ws.send("ment", { fin: false });
  ws.send("ed", { fin: true });
  m = await next(ws);
  check("fragmented text", !m.isBinary && m.data.toString() === "fragmented");

  const pong = new Promise((resolve) => ws.once("pong", resolve));
  ws.ping("hb");
  check("ping answered", (await pong).toString() === "hb");

  const done = closed(ws);
  ws.close(4001, "client done");
  const c = await done;
  check("client close code echoed", c.code === 4001, c.code);

  const ws2 = await open("/echo");
  const done2 = closed(ws2);
  ws2.send("close 4000 kicked");
  const c2 = await done2;
  check("server close code and reason", c2.code === 4000 && c2.reason === "kicked", JSON.stringify(c2));

  const ws3 = await open("/echo", ["other", "chat"]);
  check("subprotocol chosen", ws3.protocol === "chat", ws3.protocol);
  ws3.close();

  try {
    await open("/reject");
    check("rejected handshake", false, "connected");
  } catch (e) {
    check("rejected handshake gets 403", /status 403/.test(String(e.message)), e.message);
  }

  console.log("all ok");
}

setTimeout(() => {
  console.log("FAIL timeout");
  process.exit(1);
}, 60000).unref();

main().catch((e) => {
  console.log(`FAIL ${e && e.stack ? e.stack : JSON.stringify(e)}`);
  process.exit(1);
});
