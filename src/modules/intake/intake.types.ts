import type { AckCode } from '../../lib/hl7v2';
import type { MessageStatus } from './inbound-message.entity';
import type { MappedMessage } from './mapping/records';

export type IntakeSource = 'mllp' | 'file' | 'api';

/** A message after parsing, checking and mapping, ready to be stored (all decided before any I/O). */
export interface PreparedMessage {
  source: IntakeSource;
  connectionId?: string;
  raw: Buffer;
  charset: string;
  contentHash: Buffer;
  controlId: string;
  sendingApplication: string;
  sendingFacility: string;
  messageType: string;
  triggerEvent: string;
  version: string;
  batchControlId?: string;
  status: Exclude<MessageStatus, 'duplicate'>;
  ackCode: AckCode;
  error?: string;
  errorLocation?: string;
  mapped?: MappedMessage;
}

/** What became of a stored message. */
export interface StoredMessage {
  messageId: string;
  status: MessageStatus;
  /** For a duplicate: the original's outcome, which the ACK repeats. */
  ackCode: AckCode;
  error?: string;
  errorLocation?: string;
  duplicateOfId?: string;
  controlIdReused: boolean;
  warnings: string[];
  charges: number;
}
