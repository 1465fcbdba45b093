export { parseMessage, Message, Segment, HL7_NULL } from './message';
export { splitBatch, isBatch, type SplitResult, type BatchEnvelope } from './batch';
export { buildAck, newControlId, type AckCode, type AckError, type AckOptions } from './ack';
export { escapeHl7, unescapeHl7 } from './escape';
export { readDelimiters, encodingCharacters, STANDARD_DELIMITERS, type Delimiters } from './delimiters';
export { parsePath, type Hl7Path } from './path';
export {
  parseHl7DateTime, hl7DateToIso, hl7DateTimeToIso, hl7DateTimeToInstant, formatHl7DateTime,
  type Hl7DateTime, type Hl7Precision,
} from './datetime';
export { Hl7Error, Hl7ParseError, Hl7ErrorCode, HL7_ERROR_TEXT, formatLocation, parseLocation, type Hl7Location } from './errors';
export { checkEnvelope, recoverSpaceSeparatedSegments, SUPPORTED_VERSIONS, SUPPORTED_PROCESSING_IDS, type EnvelopeProblem } from './validate';
export { decodeHl7Bytes, decodeWithCharset, encodeHl7Text, charsetOfMsh18, readMsh18, type Hl7Charset } from './charset';
