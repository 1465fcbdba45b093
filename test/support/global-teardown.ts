export default async function globalTeardown(): Promise<void> {
  await globalThis.__HL7C_EMBEDDED__?.stop();
}
