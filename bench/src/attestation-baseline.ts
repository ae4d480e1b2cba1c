// Child process of `npm run bench -- attestation`, the baseline: what any agent pays before it can
// attest, in a fresh process of its own: Node's start-up, loading the agent's module graph
// (@trustplane/agent) and one TLS handshake with the signer's agent API (the agent's SNI and the
// bootstrap bundle as CA; OpenSSL verifies the chain, the result is not acted on). Exits 0 once the handshake is done.
//   attestation-baseline.js <host:port> <trust domain id> <bundle.pem>
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import '@trustplane/agent';
import { agentApiSni } from '@trustplane/proto';

const [address = '', trustDomainId = '', bundlePath = ''] = process.argv.slice(2);
const [host = '127.0.0.1', port = '0'] = address.split(':');
const socket = connect(
  { host, port: Number(port), servername: agentApiSni(trustDomainId), ca: readFileSync(bundlePath), rejectUnauthorized: false, ALPNProtocols: ['h2'] },
  () => {
    socket.destroy();
    process.exit(0);
  },
);
socket.once('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
