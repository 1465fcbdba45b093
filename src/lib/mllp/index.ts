export { MllpDecoder, encodeFrame, VT, FS, CR, type MllpEvent } from './decoder';
