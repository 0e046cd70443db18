// Search snippets: the server sends plain text and the [start, end) ranges of the words that
// matched, counted in Unicode code points. This turns them into pieces a view appends as text
// nodes and <mark>s, so nothing from a message is ever parsed as HTML.

/**
 * Split `text` into [{text, hit}] pieces, in order; `hit` pieces are the matched words.
 * Ranges may come unsorted, overlap or reach past the end: they are sorted, merged and cut
 * to the text, so a bad range can only lose a highlight, never text.
 */
export function splitHighlights(text, ranges) {
  const chars = Array.from(text); // code points, as the server counts (an emoji is one)
  const merged = [];
  const sorted = ranges
    .map(([start, end]) => [Math.max(0, start), Math.min(chars.length, end)])
    .filter(([start, end]) => start < end)
    .sort((a, b) => a[0] - b[0]);
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  const pieces = [];
  let at = 0;
  for (const [start, end] of merged) {
    if (start > at) pieces.push({ text: chars.slice(at, start).join(""), hit: false });
    pieces.push({ text: chars.slice(start, end).join(""), hit: true });
    at = end;
  }
  if (at < chars.length) pieces.push({ text: chars.slice(at).join(""), hit: false });
  return pieces;
}
