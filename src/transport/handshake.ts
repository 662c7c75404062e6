/**
 * Mutual authentication of a peer connection by HMAC-SHA256 challenge-response over the cluster
 * secret. The secret itself never crosses the wire.
 *
 * ```
 *   dialer (client)                                   listener (server)
 *   Hello     version u16 | clientId u64 | serverId u64 | nonceC[32]      →
 *            ← Challenge version u16 | serverId u64 | nonceS[32] | proofS[32]
 *   Auth      proofC[32]                                                   →
 *            ← Accept    (empty)
 * ```
 * proof(role) = HMAC-SHA256(secret, LABEL | role u8 | version u16 | clientId u64 | serverId u64 |
 * nonceC | nonceS). Each side's proof covers both nonces (so neither can be replayed from an
 * earlier connection), both ids (so a proof for one pair of nodes is useless for another) and a
 * role byte (so the server's proof cannot be reflected back as the client's).
 *
 * The listener delivers nothing from a connection before Auth verifies, and it also refuses a
 * client id that is not a member or a Hello addressed to another server id.
 */
import { Buffer } from 'node:buffer';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import type { NodeId } from '../raft/types.js';
import { FrameError } from './frame-error.js';

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
const PROOF_BYTES = 32;
const LABEL = Buffer.from('kvctl-peer-handshake', 'utf8');
const ROLE_CLIENT = 1;
const ROLE_SERVER = 2;

const HELLO_BYTES = 2 + 8 + 8 + NONCE_BYTES;
const CHALLENGE_BYTES = 2 + 8 + NONCE_BYTES + PROOF_BYTES;
const AUTH_BYTES = PROOF_BYTES;
/** Every handshake frame is tiny; the connection reads with this limit until authenticated. */
export const MAX_HANDSHAKE_FRAME_BYTES = 256;

const TWO_POW_32 = 0x1_0000_0000;

/** The handshake failed: wrong secret, unknown peer, wrong version, misdirected dial. */
export class HandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandshakeError';
  }
}

function writeId(buf: Buffer, offset: number, id: NodeId): void {
  if (!Number.isSafeInteger(id) || id < 1)
    throw new Error(`invariant: node id ${id} must be a safe integer ≥ 1`);
  buf.writeUInt32LE(id % TWO_POW_32, offset);
  buf.writeUInt32LE(Math.floor(id / TWO_POW_32), offset + 4);
}

function readId(buf: Buffer, offset: number, field: string): NodeId {
  const low = buf.readUInt32LE(offset);
  const high = buf.readUInt32LE(offset + 4);
  if (high >= 0x20_0000) throw new FrameError('bad-value', `${field} exceeds 2^53 - 1`);
  const id = high * TWO_POW_32 + low;
  if (id < 1) throw new FrameError('bad-value', `${field} is 0`);
  return id;
}

function expectBytes(payload: Buffer, length: number, what: string): void {
  if (payload.length !== length) {
    throw new FrameError('bad-value', `${what} payload is ${payload.length} bytes, expected ${length}`);
  }
}

function proof(
  secret: Buffer,
  role: number,
  clientId: NodeId,
  serverId: NodeId,
  nonceC: Buffer,
  nonceS: Buffer,
): Buffer {
  const fields = Buffer.alloc(1 + 2 + 8 + 8);
  fields[0] = role;
  fields.writeUInt16LE(PROTOCOL_VERSION, 1);
  writeId(fields, 3, clientId);
  writeId(fields, 11, serverId);
  return createHmac('sha256', secret).update(LABEL).update(fields).update(nonceC).update(nonceS).digest();
}

function proofsEqual(expected: Buffer, received: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(expected, received);
}

export function secretKey(secret: string): Buffer {
  if (secret.length === 0) throw new Error('invariant: the cluster secret must not be empty');
  return Buffer.from(secret, 'utf8');
}

/** The dialer's side. Use once per connection: hello(), onChallenge(), onAccept(). */
export class ClientHandshake {
  private readonly nonceC = randomBytes(NONCE_BYTES);
  private step: 'hello' | 'challenge' | 'accept' | 'done' = 'hello';

  constructor(
    private readonly selfId: NodeId,
    /** The node we mean to reach; the server must prove it is this node. */
    private readonly serverId: NodeId,
    private readonly secret: Buffer,
  ) {}

  /** Payload of the Hello frame. */
  hello(): Buffer {
    if (this.step !== 'hello') throw new Error('invariant: hello() called twice');
    this.step = 'challenge';
    const payload = Buffer.alloc(HELLO_BYTES);
    payload.writeUInt16LE(PROTOCOL_VERSION, 0);
    writeId(payload, 2, this.selfId);
    writeId(payload, 10, this.serverId);
    this.nonceC.copy(payload, 18);
    return payload;
  }

  /** Verifies the server's Challenge; returns the Auth payload. */
  onChallenge(payload: Buffer): Buffer {
    if (this.step !== 'challenge') throw new FrameError('bad-kind', 'Challenge out of order');
    expectBytes(payload, CHALLENGE_BYTES, 'Challenge');
    const version = payload.readUInt16LE(0);
    if (version !== PROTOCOL_VERSION) {
      throw new HandshakeError(`peer speaks protocol version ${version}, we speak ${PROTOCOL_VERSION}`);
    }
    const serverId = readId(payload, 2, 'Challenge serverId');
    if (serverId !== this.serverId) {
      throw new HandshakeError(`dialed node ${this.serverId} but reached node ${serverId}`);
    }
    const nonceS = payload.subarray(10, 10 + NONCE_BYTES);
    const proofS = payload.subarray(10 + NONCE_BYTES);
    const expected = proof(this.secret, ROLE_SERVER, this.selfId, serverId, this.nonceC, nonceS);
    if (!proofsEqual(expected, proofS)) {
      throw new HandshakeError(`node ${serverId} failed to prove the cluster secret (different secret?)`);
    }
    this.step = 'accept';
    return proof(this.secret, ROLE_CLIENT, this.selfId, serverId, this.nonceC, nonceS);
  }

  onAccept(payload: Buffer): void {
    if (this.step !== 'accept') throw new FrameError('bad-kind', 'Accept out of order');
    expectBytes(payload, 0, 'Accept');
    this.step = 'done';
  }
}

/** The listener's side. Use once per connection: onHello(), onAuth(). */
export class ServerHandshake {
  private readonly nonceS = randomBytes(NONCE_BYTES);
  private step: 'hello' | 'auth' | 'done' = 'hello';
  private clientId: NodeId = 0;
  private nonceC: Buffer = Buffer.alloc(0);

  constructor(
    private readonly selfId: NodeId,
    private readonly secret: Buffer,
    /** Whether `id` may connect (a current member other than ourselves). */
    private readonly isMember: (id: NodeId) => boolean,
  ) {}

  /** The id the client claims; proven only once onAuth() returns. */
  get claimedId(): NodeId {
    return this.clientId;
  }

  /** Checks the Hello; returns the Challenge payload. */
  onHello(payload: Buffer): Buffer {
    if (this.step !== 'hello') throw new FrameError('bad-kind', 'Hello out of order');
    expectBytes(payload, HELLO_BYTES, 'Hello');
    const version = payload.readUInt16LE(0);
    if (version !== PROTOCOL_VERSION) {
      throw new HandshakeError(`peer speaks protocol version ${version}, we speak ${PROTOCOL_VERSION}`);
    }
    const clientId = readId(payload, 2, 'Hello clientId');
    const serverId = readId(payload, 10, 'Hello serverId');
    if (serverId !== this.selfId) {
      throw new HandshakeError(`peer ${clientId} dialed node ${serverId}, but this is node ${this.selfId}`);
    }
    if (clientId === this.selfId || !this.isMember(clientId)) {
      throw new HandshakeError(`node ${clientId} is not a member`);
    }
    this.clientId = clientId;
    this.nonceC = Buffer.from(payload.subarray(18, 18 + NONCE_BYTES));
    this.step = 'auth';
    const challenge = Buffer.alloc(CHALLENGE_BYTES);
    challenge.writeUInt16LE(PROTOCOL_VERSION, 0);
    writeId(challenge, 2, this.selfId);
    this.nonceS.copy(challenge, 10);
    proof(this.secret, ROLE_SERVER, clientId, this.selfId, this.nonceC, this.nonceS).copy(
      challenge,
      10 + NONCE_BYTES,
    );
    return challenge;
  }

  /** Verifies the client's proof; returns the authenticated peer id (then send an empty Accept). */
  onAuth(payload: Buffer): NodeId {
    if (this.step !== 'auth') throw new FrameError('bad-kind', 'Auth out of order');
    expectBytes(payload, AUTH_BYTES, 'Auth');
    const expected = proof(this.secret, ROLE_CLIENT, this.clientId, this.selfId, this.nonceC, this.nonceS);
    if (!proofsEqual(expected, payload)) {
      throw new HandshakeError(
        `node ${this.clientId} failed to prove the cluster secret (different secret?)`,
      );
    }
    // Membership may have changed while we waited for Auth.
    if (!this.isMember(this.clientId)) throw new HandshakeError(`node ${this.clientId} is not a member`);
    this.step = 'done';
    return this.clientId;
  }
}
