import { buildAck, newControlId } from './ack';
import { parseMessage } from './message';
import { Hl7ErrorCode } from './errors';

describe('buildAck', () => {
  const original = parseMessage('MSH|^~\\&|SEND|SFAC|RECV|RFAC|20240101||DFT^P03|CTL-1|P|2.5.1\rPID|1||1\r');

  it('swaps sender and receiver, echoes MSH-10 in MSA-2 and has its own MSH-10', () => {
    const ack = parseMessage(buildAck(original, { code: 'AA', controlId: 'ACK1', now: new Date('2024-01-02T03:04:05Z') }));
    expect(ack.get('MSH-3')).toBe('RECV');
    expect(ack.get('MSH-4')).toBe('RFAC');
    expect(ack.get('MSH-5')).toBe('SEND');
    expect(ack.get('MSH-6')).toBe('SFAC');
    expect(ack.get('MSH-7')).toBe('20240102030405+0000');
    expect(ack.getRaw('MSH-9')).toBe('ACK^P03^ACK');
    expect(ack.get('MSH-10')).toBe('ACK1');
    expect(ack.get('MSH-12')).toBe('2.5.1');
    expect(ack.get('MSA-1')).toBe('AA');
    expect(ack.get('MSA-2')).toBe('CTL-1');
    expect(ack.segments('ERR')).toHaveLength(0);
  });

  it('carries the error location and table 0357 code in ERR', () => {
    const ack = parseMessage(
      buildAck(original, {
        code: 'AE',
        errors: [{ code: Hl7ErrorCode.DataTypeError, location: { segment: 'FT1', sequence: 2, field: 11 }, message: 'amount is not a number' }],
      }),
    );
    expect(ack.get('MSA-1')).toBe('AE');
    expect(ack.getRaw('ERR-2')).toBe('FT1^2^11');
    expect(ack.get('ERR-3.1')).toBe('102');
    expect(ack.get('ERR-3.3')).toBe('HL70357');
    expect(ack.get('ERR-4')).toBe('E');
    expect(ack.get('ERR-8')).toBe('amount is not a number');
    expect(ack.get('ERR-1.1')).toBe('FT1');
    expect(ack.get('ERR-1.4.1')).toBe('102');
  });

  it('answers unreadable input with AR and an empty MSA-2', () => {
    const ack = parseMessage(buildAck(undefined, { code: 'AR', errors: [{ code: Hl7ErrorCode.SegmentSequenceError, message: 'not HL7' }] }));
    expect(ack.get('MSA-1')).toBe('AR');
    expect(ack.get('MSA-2')).toBe('');
    expect(ack.get('MSH-3')).toBe('HL7-CLAIMS');
  });

  it('generates unique control ids of at most 20 characters', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10000; i++) ids.add(newControlId(1700000000000));
    expect(ids.size).toBe(10000);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20);
  });
});
