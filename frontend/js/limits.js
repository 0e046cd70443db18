// The message length limit as the composer shows it. The server counts code points (Python's
// len()), so an emoji is one character here too, not two UTF-16 units.

// The counter shows from this share of the limit on: earlier it would only be noise.
export const COUNTER_FROM = 0.8;
// A server too old to say its limit in GET /config had this one (docs/api.md).
export const DEFAULT_MAX_CHARS = 8000;

export const charCount = (text) => Array.from(text).length;

/** What the counter shows for `text` against `limit`: {show, over, count, excess}. */
export function measure(text, limit = DEFAULT_MAX_CHARS) {
  const count = charCount(text.trim());
  return {
    count,
    show: count >= Math.floor(limit * COUNTER_FROM),
    over: count > limit,
    excess: Math.max(0, count - limit),
  };
}
