import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';

import { FrameError } from '../../src/transport/frame-error.js';
import {
  ClientHandshake,
  HandshakeError,
  PROTOCOL_VERSION,
  ServerHandshake,
  secretKey,
} from '../../src/transport/handshake.js';

const members = new Set([1, 2, 3]);
const isMember = (id: number): boolean => members.has(id);

function run(clientSecret: string, serverSecret: string, clientId = 1, serverId = 2): number {
  const client = new ClientHandshake(clientId, serverId, secretKey(clientSecret));
  const server = new ServerHandshake(serverId, secretKey(serverSecret), isMember);
  const challenge = server.onHello(client.hello());
  const auth = client.onChallenge(challenge);
  const peer = server.onAuth(auth);
  client.onAccept(Buffer.alloc(0));
  return peer;
}

describe('handshake', () => {
  it('authenticates both sides with the same secret and yields the client id', () => {
    expect(run('s3cret', 's3cret')).toBe(1);
    expect(run('s3cret', 's3cret', 3, 2)).toBe(3);
  });

  it('the client refuses a server that does not know the secret', () => {
    expect(() => run('right', 'wrong')).toThrow(HandshakeError);
  });

  it('the server refuses a client that does not know the secret', () => {
    const client = new ClientHandshake(1, 2, secretKey('wrong'));
    const server = new ServerHandshake(2, secretKey('right'), isMember);
    const challenge = server.onHello(client.hello());
    // A client without the secret cannot verify the challenge; an attacker would skip that and
    // answer with any 32 bytes, or with a proof computed from the wrong secret:
    expect(() => client.onChallenge(challenge)).toThrow(HandshakeError);
    expect(() => server.onAuth(Buffer.alloc(32, 7))).toThrow(HandshakeError);
  });

  it('a proof from one connection is useless on another (fresh nonces)', () => {
    const secret = secretKey('s');
    const clientA = new ClientHandshake(1, 2, secret);
    const serverA = new ServerHandshake(2, secret, isMember);
    const authA = clientA.onChallenge(serverA.onHello(clientA.hello()));
    const serverB = new ServerHandshake(2, secret, isMember);
    const clientB = new ClientHandshake(1, 2, secret);
    serverB.onHello(clientB.hello());
    expect(() => serverB.onAuth(authA)).toThrow(HandshakeError);
  });

  it('the server proof cannot be reflected as a client proof', () => {
    const secret = secretKey('s');
    const client = new ClientHandshake(1, 2, secret);
    const server = new ServerHandshake(2, secret, isMember);
    const challenge = server.onHello(client.hello());
    const serverProof = challenge.subarray(challenge.length - 32);
    expect(() => server.onAuth(Buffer.from(serverProof))).toThrow(HandshakeError);
  });

  it('refuses a client id that is not a member, or is the server itself', () => {
    const secret = secretKey('s');
    expect(() =>
      new ServerHandshake(2, secret, isMember).onHello(new ClientHandshake(9, 2, secret).hello()),
    ).toThrow(/not a member/);
    expect(() =>
      new ServerHandshake(2, secret, isMember).onHello(new ClientHandshake(2, 2, secret).hello()),
    ).toThrow(/not a member/);
  });

  it('refuses a hello meant for another node, and the client notices reaching the wrong node', () => {
    const secret = secretKey('s');
    expect(() =>
      new ServerHandshake(2, secret, isMember).onHello(new ClientHandshake(1, 3, secret).hello()),
    ).toThrow(/dialed node 3/);
  });

  it('refuses another protocol version', () => {
    const secret = secretKey('s');
    const hello = new ClientHandshake(1, 2, secret).hello();
    hello.writeUInt16LE(PROTOCOL_VERSION + 1, 0);
    expect(() => new ServerHandshake(2, secret, isMember).onHello(hello)).toThrow(/protocol version/);
  });

  it('rejects malformed and out-of-order handshake frames with FrameError', () => {
    const secret = secretKey('s');
    const server = new ServerHandshake(2, secret, isMember);
    expect(() => server.onHello(Buffer.alloc(10))).toThrow(FrameError);
    expect(() => server.onAuth(Buffer.alloc(32))).toThrow(FrameError);
    const client = new ClientHandshake(1, 2, secret);
    expect(() => client.onAccept(Buffer.alloc(0))).toThrow(FrameError);
    client.hello();
    expect(() => client.onChallenge(Buffer.alloc(5))).toThrow(FrameError);
  });

  it('refuses an empty secret', () => {
    expect(() => secretKey('')).toThrow(/invariant/);
  });
});
