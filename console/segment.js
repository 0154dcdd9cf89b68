// GSM-7 / UCS-2 segmentation, the same rules as shared/domain/src/segment.rs (the server's word is final;
// this is the live preview while the agent types).

const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "\u000c^{}\\[~]|€";

/** The most characters (code points) a text may have, as MessageText allows. */
export const MAX_CHARACTERS = 1600;

function septets(c) {
  if (c !== "\u001b" && GSM7_BASIC.includes(c)) return 1;
  if (GSM7_EXTENSION.includes(c)) return 2;
  return null;
}

/** Whether one character (code point) forces the whole text into UCS-2. */
export function forcesUcs2(c) {
  return septets(c) === null;
}

/** { encoding, segments, characters, units, ucs2_characters, over_limit } of a text. */
export function analyze(text) {
  const chars = [...text];
  const ucs2 = [];
  for (const c of chars) if (septets(c) === null && !ucs2.includes(c)) ucs2.push(c);
  const gsm = ucs2.length === 0;
  const sizes = chars.map((c) => (gsm ? septets(c) ?? 1 : c.length));
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  const units = sizes.reduce((a, b) => a + b, 0);
  let segments = 1;
  if (units > single) {
    let used = 0;
    for (const size of sizes) {
      if (used + size > multi) {
        segments += 1;
        used = 0;
      }
      used += size;
    }
  }
  return {
    encoding: gsm ? "GSM-7" : "UCS-2",
    segments: text.length === 0 ? 0 : segments,
    characters: chars.length,
    units,
    ucs2_characters: ucs2,
    over_limit: chars.length > MAX_CHARACTERS,
  };
}
