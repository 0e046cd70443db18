import { test } from "node:test";
import assert from "node:assert/strict";

import { splitHighlights } from "../../frontend/js/snippets.js";

const show = (pieces) => pieces.map((p) => (p.hit ? `[${p.text}]` : p.text)).join("");

test("marks the ranges and keeps every other character as plain text", () => {
  const pieces = splitHighlights("a viagem ao Recife", [[2, 8], [12, 18]]);
  assert.deepEqual(pieces, [
    { text: "a ", hit: false },
    { text: "viagem", hit: true },
    { text: " ao ", hit: false },
    { text: "Recife", hit: true },
  ]);
});

test("counts code points like the server: an emoji before a match is one position", () => {
  assert.equal(show(splitHighlights("🙂🙂 Olá MUNDO", [[7, 12]])), "🙂🙂 Olá [MUNDO]");
});

test("unsorted, overlapping, empty and out-of-range ranges lose no text", () => {
  const text = "one two three";
  assert.equal(show(splitHighlights(text, [[8, 13], [0, 3], [2, 6], [5, 5], [40, 50]])), "[one tw]o [three]");
  assert.equal(show(splitHighlights(text, [[-3, 2], [11, 99]])), "[on]e two thr[ee]");
  assert.equal(show(splitHighlights(text, [])), text);
  assert.deepEqual(splitHighlights("", [[0, 1]]), []);
});

test("markup in a message stays text: the pieces are strings, never parsed", () => {
  const text = '<img src=x onerror="alert(1)"> <b>bold</b>';
  const pieces = splitHighlights(text, [[34, 38]]);
  assert.equal(pieces.map((p) => p.text).join(""), text);
  assert.deepEqual(pieces[1], { text: "bold", hit: true });
});
