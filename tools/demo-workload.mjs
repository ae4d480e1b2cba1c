// A demo workload: gets its X.509-SVID from the agent's Workload API (no credentials of its
// own: the agent identifies it by the kernel's peer credentials) and talks mutual TLS with
// its peer, authorizing the peer by SPIFFE ID against the trust bundle.
//   node tools/demo-workload.mjs server <socket> <my SPIFFE ID> <peer SPIFFE ID> <port>
//   node tools/demo-workload.mjs client <socket> <my SPIFFE ID> <peer SPIFFE ID> <port> <rounds>
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import tls from 'node:tls';

const require = createRequire(new URL('../package.json', import.meta.url).pathname);
const { Metadata, credentials } = require('@grpc/grpc-js');
const { workload } = require('@trustplane/proto');

const [role, socket, me, peer, port, rounds = '6'] = process.argv.slice(2);
const say = (text) => process.stdout.write(`[${role === 'server' ? 'backend ' : 'frontend'}] ${text}\n`);

function splitDer(data) {
  const out = [];
  for (let i = 0; i < data.length; ) {
    const n = data[i + 1];
    const [size, header] = n < 0x80 ? [n, 2] : [data.subarray(i + 2, i + 2 + (n & 0x7f)).reduce((a, b) => a * 256 + b, 0), 2 + (n & 0x7f)];
    out.push(data.subarray(i, i + header + size));
    i += header + size;
  }
  return out;
}
const pem = (der) => new X509Certificate(der).toString();

/** The current SVID for `me` and the bundle, kept up to date from the Workload API stream. */
function watchSvid(onChange) {
  const client = new workload.SpiffeWorkloadAPIClient(`unix://${socket}`, credentials.createInsecure());
  const md = new Metadata();
  md.set('workload.spiffe.io', 'true');
  const call = client.fetchX509Svid({}, md);
  call.on('data', (message) => {
    const svid = message.svids.find((s) => s.spiffeId === me);
    if (!svid) return;
    const chain = splitDer(svid.x509Svid);
    onChange({
      key: createPrivateKey({ key: svid.x509SvidKey, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }),
      cert: chain.map(pem).join(''),
      ca: splitDer(svid.bundle).map(pem),
      serial: new X509Certificate(chain[0]).serialNumber.slice(0, 12).toLowerCase(),
    });
  });
  call.on('error', (error) => say(`Workload API: ${error.details ?? error.message}`));
  return () => {
    call.cancel();
    client.close();
  };
}

function peerId(socketOrCert) {
  const cert = socketOrCert.getPeerX509Certificate ? socketOrCert.getPeerX509Certificate() : socketOrCert;
  return /URI:(spiffe:\/\/[^,\s]+)/.exec(cert?.subjectAltName ?? '')?.[1];
}

if (role === 'server') {
  let server;
  watchSvid((svid) => {
    const options = { key: svid.key, cert: svid.cert, ca: svid.ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' };
    if (server === undefined) {
      server = tls.createServer(options, (conn) => {
        const caller = peerId(conn);
        if (caller !== peer) {
          say(`refused ${caller}: not ${peer}`);
          conn.destroy();
          return;
        }
        conn.once('data', (data) => conn.end(`hello ${caller}, this is ${me} (certificate ${server.serial}); you said "${data}"`));
      });
      server.serial = svid.serial;
      server.listen(Number(port), '127.0.0.1', () => say(`listening with ${me} (certificate ${svid.serial}), accepting only ${peer}`));
    } else if (server.serial !== svid.serial) {
      server.setSecureContext(options);
      server.serial = svid.serial;
      say(`rotated: now serving certificate ${svid.serial}`);
    } else {
      server.setSecureContext(options);
    }
  });
  process.once('SIGTERM', () => process.exit(0));
} else {
  let current;
  const stop = watchSvid((svid) => {
    if (current !== undefined && current.serial !== svid.serial) say(`rotated: my certificate is now ${svid.serial}`);
    current = svid;
  });
  const talk = (round) =>
    new Promise((resolve, reject) => {
      const conn = tls.connect({
        host: '127.0.0.1',
        port: Number(port),
        key: current.key,
        cert: current.cert,
        ca: current.ca,
        servername: 'backend',
        minVersion: 'TLSv1.3',
        checkServerIdentity: (_host, cert) => (peerId(new X509Certificate(cert.raw)) === peer ? undefined : new Error(`server is not ${peer}`)),
      });
      let reply = '';
      conn.on('secureConnect', () => conn.write(`round ${round} from ${me} (certificate ${current.serial})`));
      conn.on('data', (d) => (reply += d));
      conn.on('end', () => resolve(reply));
      conn.on('error', reject);
    });
  (async () => {
    while (current === undefined) await new Promise((r) => setTimeout(r, 50));
    for (let round = 1; round <= Number(rounds); round++) {
      for (let attempt = 0; ; attempt++) {
        try {
          say(await talk(round));
          break;
        } catch (error) {
          if (attempt > 40) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      await new Promise((r) => setTimeout(r, 800));
    }
    stop();
    process.exit(0);
  })().catch((error) => {
    say(`failed: ${error.message}`);
    process.exit(1);
  });
}
