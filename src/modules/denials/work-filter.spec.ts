import { deadlineWords, parseWorkFilter, priority, workFilterParams } from './work-filter';

describe('work queue priority and filters', () => {
  it('multiplies amount, recoverability and urgency exactly, rounding half away from zero to cents, and shows the arithmetic', () => {
    expect(priority('62.50', '0.40', 21)).toEqual({ value: '30.00', explanation: '62.50 at stake × 0.40 recoverable × 1.2 (deadline in 21 days) = 30.00' });
    expect(priority('48.25', '0.40', -918).value).toBe('28.95');
    expect(priority('125.00', '0.90', 3).value).toBe('168.75');
    expect(priority('0.05', '0.50', 0).value).toBe('0.04');
    expect(priority('0.05', '0.30', 200).value).toBe('0.01');
    expect(priority('9999999999.99', '1.00', 45).value).toBe('9999999999.99');
    expect(() => priority('1.005', '0.50', 1)).toThrow(/not amounts/);
  });

  it('parses filters leniently, naming what it left out, and writes back only what differs from the default', () => {
    const { filter, ignored } = parseWorkFilter({ status: ['new', 'bogus'], category: 'coding,bundling', carc: '97', owner: 'me', sort: 'amount', page: '3', amountMin: '1.234' });
    expect(filter).toMatchObject({ status: ['new'], category: ['coding', 'bundling'], carc: '97', owner: 'mine+unassigned', sort: 'amount', dir: 'desc', page: 3, amountMin: undefined });
    // "me" is not an owner value ("mine" is), and money has at most two decimals.
    expect(ignored).toEqual(['status=bogus', 'owner=me', 'amountMin=1.234']);
    expect(workFilterParams(parseWorkFilter({}).filter)).toEqual(expect.objectContaining({ status: undefined, owner: undefined, sort: undefined, dir: undefined, page: undefined }));
    expect(deadlineWords(-1)).toBe('Overdue by 1 day');
    expect(deadlineWords(0)).toBe('Due today');
  });
});
