// The node peer of bench/ws/echo.sh: the ws package's server on
// 127.0.0.1, echoing every message back as it came (text as text, binary
// as binary). permessage-deflate is off, as in the other servers measured,
// so the figures are the framing's and not zlib's. One process, one
// thread (node's event loop).
//
//   WS_DIR=dir node echo_ws.mjs PORT
// WS_DIR is where ws is installed (dir/node_modules/ws); by default the
// usual lookup from this file's directory.
import { createRequire } from 'node:module';

const require = createRequire((process.env.WS_DIR || new URL('.', import.meta.url).pathname) + '/');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node echo_ws.mjs PORT');
  process.exit(2);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, backlog: 4096 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.log(`echo_ws: ws ${require('ws/package.json').version} on 127.0.0.1:${port}`));
wss.on('error', (err) => {
  console.error(`echo_ws: ${err.message}`);
  process.exit(1);
});
// echo.sh stops it with SIGTERM: leave at once, without waiting for the
// clients to close.
process.on('SIGTERM', () => process.exit(0));
