import { BlockList, isIP } from 'node:net';

/** MLLP_ALLOW: addresses and CIDR blocks (IPv4 and IPv6) allowed to connect; undefined = all. */
export function parseAllowList(spec: string | undefined): BlockList | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  const list = new BlockList();
  for (const entry of spec.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const [addr = '', bits] = entry.split('/');
    const family = isIP(addr);
    if (family === 0) throw new Error(`MLLP_ALLOW: "${entry}" is not an IP address or CIDR block`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

export function isAllowed(list: BlockList | undefined, address: string | undefined): boolean {
  if (list === undefined) return true;
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const family = isIP(v4);
  return family !== 0 && list.check(v4, family === 6 ? 'ipv6' : 'ipv4');
}
