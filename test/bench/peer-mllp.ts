/**
 * A peer's MLLP server, ACK only (nothing parsed beyond what the peer does itself, nothing stored),
 * run as its own process for the intake benchmark's reference figures: the same load generator
 * against it shows what this machine answers at the moment without durability.
 * Started by `benchPeerServer` (intake.ts): told which peer over IPC, it answers with its port;
 * told 'cpu', it answers with the CPU it has used; told 'stop', it exits.
 */
import type { AddressInfo, Server } from 'node:net';
/* eslint-disable @typescript-eslint/no-require-imports */
import { Hl7Server, type Hl7MessageEvent } from '@medplum/hl7';

export type PeerServer = 'simple-hl7' | '@medplum/hl7';

function startSimpleHl7(): Server {
  // simple-hl7's connect-style app: the handler answers with the ACK the server built (MSA-2 = MSH-10).
  const hl7 = require('simple-hl7') as { tcp(): { use(fn: (req: unknown, res: { end(): void }) => void): void; start(port: number): { server: Server } } };
  const app = hl7.tcp();
  app.use((_req, res) => {
    res.end();
  });
  return app.start(0).server;
}

function startMedplum(): Server {
  const server = new Hl7Server((connection) => {
    connection.addEventListener('message', (event: Hl7MessageEvent) => {
      connection.send(event.message.buildAck());
    });
  });
  server.start(0);
  return server.server as Server;
}

process.on('message', (m: { peer?: PeerServer; cmd?: 'cpu' | 'stop' }) => {
  if (m.cmd === 'stop') process.exit(0);
  if (m.cmd === 'cpu') {
    const u = process.cpuUsage();
    process.send?.({ cpuUs: u.user + u.system });
    return;
  }
  const server = m.peer === 'simple-hl7' ? startSimpleHl7() : startMedplum();
  const ready = (): void => {
    process.send?.({ port: (server.address() as AddressInfo).port });
  };
  if (server.listening) ready();
  else server.once('listening', ready);
});
